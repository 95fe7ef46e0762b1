"""Ingestion → SQL + Chroma + BM25 on real components (SQLite, Chroma in a temp dir, Kiwi)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.container import Container
from core.models import Chunk, Document, DocumentVersion
from core.settings import Settings
from ingest.errors import IngestError
from ingest.pipeline import IngestRequest
from retrieval.types import AccessScope
from tests.support.containers import make_container

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_store: Settings) -> Settings:
    """These tests run on SQLite, on PostgreSQL and on PostgreSQL with a Chroma server."""
    return settings_on_each_store


RULES_V1 = """# 취업규칙

시행일: 2025년 3월 1일

## 제1장 총칙

제1조(목적) 이 규칙은 한빛솔루션 직원의 복무와 근로조건을 정한다.

## 제3장 휴가

제12조(연차휴가) ① 회사는 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.
② 3년 이상 근속한 직원에게는 매 2년에 1일을 가산한다.
"""
TRAVEL = """# 출장 규정

제5조(숙박비) 국내 출장 숙박비는 서울 1박 12만원, 그 밖의 지역 1박 9만원을 한도로 한다.
"""


def ingest(container: Container, text: str, name: str, *, key: str | None = None, public: bool = True):
    request = IngestRequest(data=text.encode(), filename=name, source_key=key or name, is_public=public)
    return container.pipeline.ingest(request)


def store_counts(container: Container) -> tuple[int, int, int]:
    with container.sessions() as session:
        current = session.scalar(
            select(func.count())
            .select_from(Chunk)
            .join(Document, Document.current_version_id == Chunk.version_id)
        )
        total = session.scalar(select(func.count()).select_from(Chunk))
    assert current == total, "SQL holds chunks of non-current versions"
    container.index.refresh()
    return total or 0, container.index.vectors.count(), len(container.index.lexical)


def test_ingest_then_search_finds_the_article(container: Container) -> None:
    outcome = ingest(container, RULES_V1, "취업규칙.md")
    ingest(container, TRAVEL, "출장규정.md")
    assert outcome.status == "added"
    assert outcome.title == "취업규칙"
    hits = container.searcher.search("연차휴가는 며칠인가요?", AccessScope())
    assert hits[0].title == "취업규칙"
    assert hits[0].article and hits[0].article.startswith("제12조")
    assert "15일" in hits[0].text
    hits = container.searcher.search("서울 숙박비 한도", AccessScope())
    assert hits[0].title == "출장 규정"


def test_same_content_twice_changes_nothing(container: Container) -> None:
    first = ingest(container, RULES_V1, "취업규칙.md")
    before = store_counts(container)
    again = ingest(container, RULES_V1, "취업규칙.md")
    assert again.status == "unchanged"
    assert again.version_id == first.version_id
    assert store_counts(container) == before


def test_new_content_replaces_the_old_version_in_all_three_stores(container: Container) -> None:
    ingest(container, RULES_V1, "취업규칙.md")
    updated = ingest(container, RULES_V1.replace("15일", "17일"), "취업규칙.md")
    assert updated.status == "updated"
    assert updated.version_number == 2
    sql, vectors, lexical = store_counts(container)
    assert sql == vectors == lexical == updated.chunk_count
    hits = container.searcher.search("연차휴가 유급휴가 며칠", AccessScope())
    texts = " ".join(h.text for h in hits)
    assert "17일" in texts and "15일" not in texts
    with container.sessions() as session:
        versions = session.scalars(select(DocumentVersion.number).order_by(DocumentVersion.number)).all()
        assert versions == [1, 2]
        originals = session.scalars(select(DocumentVersion.file_key)).all()
    assert [container.originals.exists(k) for k in originals] == [False, True]


def test_delete_removes_original_rows_vectors_and_bm25_entries(container: Container) -> None:
    kept = ingest(container, TRAVEL, "출장규정.md")
    gone = ingest(container, RULES_V1, "취업규칙.md")
    with container.sessions() as session:
        file_key = session.get_one(DocumentVersion, gone.version_id).file_key
    container.index.delete_document(gone.document_id)
    container.originals.delete(file_key)
    sql, vectors, lexical = store_counts(container)
    assert sql == vectors == lexical == kept.chunk_count
    assert not container.originals.exists(file_key)
    assert container.searcher.search("연차휴가", AccessScope()) == [] or all(
        h.document_id == kept.document_id for h in container.searcher.search("연차휴가", AccessScope())
    )


def test_private_documents_are_invisible_to_the_default_scope(container: Container) -> None:
    ingest(container, RULES_V1, "취업규칙.md", public=False)
    assert container.searcher.search("연차휴가", AccessScope()) == []
    assert container.searcher.search("연차휴가", AccessScope.admin())


def test_a_failed_file_leaves_no_trace(container: Container) -> None:
    with pytest.raises(IngestError):
        container.pipeline.ingest(IngestRequest(data=b"<html><body>x</body></html>", filename="a.pdf"))
    with container.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
    assert container.originals.all_keys() == []


def test_another_process_sees_the_new_index_version(container: Container, settings, kiwi) -> None:

    other = make_container(settings, kiwi)
    assert other.searcher.search("숙박비", AccessScope()) == []
    ingest(container, TRAVEL, "출장규정.md")
    assert other.searcher.search("숙박비", AccessScope())[0].title == "출장 규정"
