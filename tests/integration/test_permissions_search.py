"""Permission-aware retrieval: filtering happens in both legs before the top-k cut."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.container import Container, build_container
from core.db import transaction
from core.models import Document, Group
from core.settings import EmbeddingSettings, RetrievalSettings, Settings
from ingest.pipeline import IngestRequest
from llm.fake import ExtractiveFakeModel
from retrieval.embedder import HashingEmbedder
from retrieval.types import AccessScope

pytestmark = pytest.mark.integration


@pytest.fixture
def narrow(tmp_path, kiwi) -> Container:
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        retrieval=RetrievalSettings(candidates=5, top_k=3),
    )
    return build_container(
        settings, embedder=HashingEmbedder(), chat_model=ExtractiveFakeModel(), tokenizer=kiwi
    )


def ingest(
    container: Container, name: str, text: str, groups: tuple[str, ...] = (), public: bool = False
) -> str:
    request = IngestRequest(
        data=text.encode(), filename=name, source_key=name, is_public=public, group_names=groups
    )
    return container.pipeline.ingest(request).document_id


def group_scope(container: Container, *names: str) -> AccessScope:
    with container.sessions() as session:
        ids = frozenset(session.scalars(select(Group.id).where(Group.name.in_(names))))
    return AccessScope(group_ids=ids)


def test_a_user_with_narrow_access_still_gets_k_results(narrow: Container) -> None:
    for i in range(12):
        ingest(
            narrow,
            f"재무-{i}.md",
            f"# 재무 비밀 {i}\n\n법인카드 한도 법인카드 한도 법인카드 한도 CANARY{i}",
            ("재무팀",),
        )
    visible = {
        ingest(
            narrow, f"공용-{i}.md", f"# 안내 {i}\n\n법인카드 한도는 팀장 승인으로 정한다 {i}.", ("영업팀",)
        )
        for i in range(3)
    }
    hits = narrow.searcher.search("법인카드 한도", group_scope(narrow, "영업팀"), k=3)
    assert {hit.document_id for hit in hits} == visible
    assert all("CANARY" not in hit.text for hit in hits)
    admin_hits = narrow.searcher.search("법인카드 한도", AccessScope.admin(), k=3)
    assert all("CANARY" in hit.text for hit in admin_hits), "without the filter the private chunks rank first"


def test_documents_without_permissions_are_admin_only(narrow: Container) -> None:
    ingest(narrow, "비공개.md", "# 비공개\n\n임원 보수 규정 CANARY")
    assert narrow.searcher.search("임원 보수", AccessScope()) == []
    assert narrow.searcher.search("임원 보수", group_scope(narrow, "영업팀")) == []
    assert narrow.searcher.search("임원 보수", AccessScope.admin())


def test_changing_a_documents_groups_takes_effect_at_once(narrow: Container) -> None:
    doc_id = ingest(narrow, "인사.md", "# 인사\n\n평가 등급 분포 CANARY", ("인사팀",))
    ingest(narrow, "영업.md", "# 영업\n\n영업 목표", ("영업팀",))
    sales = group_scope(narrow, "영업팀")
    assert doc_id not in {hit.document_id for hit in narrow.searcher.search("평가 등급", sales)}
    with transaction(narrow.sessions) as session:
        document = session.get_one(Document, doc_id)
        document.groups = [session.scalar(select(Group).where(Group.name == "영업팀"))]  # type: ignore[list-item]
    narrow.index.permissions_changed()
    assert narrow.searcher.search("평가 등급", sales)[0].document_id == doc_id
