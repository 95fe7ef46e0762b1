"""Re-chunking an index cut by an older chunker keeps documents, permissions and version history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from app.container import Container
from app.services import accounts
from core.db import transaction
from core.models import Chunk, Document, DocumentVersion
from core.settings import ChunkingSettings, Settings
from ingest.chunker import CHUNKER_VERSION, Chunker
from ingest.pipeline import IngestPipeline, IngestRequest
from ingest.reindex import index_chunker_version, needs_rechunk, rechunk_index
from retrieval.tokenizer import KiwiTokenizer
from retrieval.types import AccessScope
from tests.support.containers import make_container

pytestmark = pytest.mark.integration

RULES = "\n".join(
    [
        "# 취업규칙",
        "### 제24조(연차유급휴가)",
        "① 1년간 80퍼센트 이상 출근한 직원에게는 15일의 연차유급휴가를 준다.",
        "② 계속 근로기간이 1년 미만인 직원에게는 1개월 개근 시 1일의 유급휴가를 준다.",
        "③ 3년 이상 계속 근로한 직원에게는 매 2년에 대하여 1일을 가산한 휴가를 준다.",
    ]
)


@pytest.fixture
def built(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[Container]:
    container = make_container(settings, kiwi)
    yield container
    container.close()


def old_pipeline(container: Container) -> IngestPipeline:
    """A pipeline whose chunker cuts small pieces, standing in for an older chunker."""
    chunker = Chunker(ChunkingSettings(chunk_chars=100, overlap_chars=10))
    return IngestPipeline(
        container.sessions, container.index, container.originals, chunker, container.settings.ingest
    )


def test_rechunking_recuts_every_document_and_keeps_permissions_and_history(built: Container) -> None:
    assert index_chunker_version(built.sessions) == CHUNKER_VERSION  # empty: recorded as current
    with transaction(built.sessions) as session:
        group_ids = accounts.group_ids_by_name(session, ("인사팀",), create_missing=True)
    pipeline = old_pipeline(built)
    request = IngestRequest(RULES.encode(), "취업규칙.md", group_ids=group_ids)  # no source key: an upload
    old = pipeline.ingest(request)
    pipeline.close()
    assert old.chunk_count > 1

    report = rechunk_index(built.sessions, built.pipeline, built.originals)

    assert (report.documents, report.chunks_before, report.chunks_after, report.failed) == (
        1,
        old.chunk_count,
        1,
        {},
    )
    with built.sessions() as session:
        document = session.get_one(Document, old.document_id)
        versions = session.scalars(
            select(DocumentVersion.number).where(DocumentVersion.document_id == document.id)
        ).all()
        assert sorted(versions) == [1, 2]
        assert [g.name for g in document.groups] == ["인사팀"]
        assert not document.is_public
        chunks = session.scalars(select(Chunk).where(Chunk.document_id == document.id)).all()
        assert [c.article for c in chunks] == ["제24조"]
        assert all(c.version_id == document.current_version_id for c in chunks)
    assert built.searcher.search("연차휴가", AccessScope()) == []  # still not public
    hits = built.searcher.search("연차휴가", AccessScope(group_ids=frozenset(group_ids)))
    assert [h.article for h in hits] == ["제24조"]
    assert not needs_rechunk(built.sessions)


def test_an_index_without_a_record_is_recognised_by_its_token_counts(built: Container) -> None:
    built.pipeline.ingest(IngestRequest(RULES.encode(), "취업규칙.md", source_key="rules", is_public=True))
    with transaction(built.sessions) as session:  # chunker 1 stored tokens of the embedding model
        session.execute(update(Chunk).values(token_count=Chunk.token_count * 2))
    assert needs_rechunk(built.sessions)
    assert index_chunker_version(built.sessions) == 1  # recorded as found
    rechunk_index(built.sessions, built.pipeline, built.originals)
    assert index_chunker_version(built.sessions) == CHUNKER_VERSION
