from __future__ import annotations

import pytest

from app.container import Container
from ingest.pipeline import IngestRequest
from retrieval.langchain_retriever import JikjiRetriever
from retrieval.types import AccessScope

pytestmark = pytest.mark.integration


def test_retriever_returns_langchain_documents_with_sources(container: Container) -> None:
    text = "# 재택근무 규정\n\n제3조(재택 일수) 직원은 주 2일까지 재택근무를 할 수 있다."
    container.pipeline.ingest(IngestRequest(data=text.encode(), filename="재택.md", is_public=True))
    container.pipeline.ingest(IngestRequest(data="# 비밀\n\n재택 비밀".encode(), filename="x.md"))
    retriever = JikjiRetriever(searcher=container.searcher, k=2)
    documents = retriever.invoke("재택근무는 일주일에 며칠?")
    assert documents[0].metadata["title"] == "재택근무 규정"
    assert documents[0].metadata["article"] == "제3조"
    assert "주 2일" in documents[0].page_content
    assert all(d.metadata["title"] != "비밀" for d in documents)
    admin = JikjiRetriever(searcher=container.searcher, scope=AccessScope.admin(), k=5)
    assert "비밀" in {d.metadata["title"] for d in admin.invoke("재택 비밀")}
