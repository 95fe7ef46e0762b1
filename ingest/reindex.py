"""Re-chunking an index cut by an older chunker, from the stored originals.

Every document's current version is parsed and chunked again from its stored original and stored as
a new version through the ordinary ingestion path (``force``), exactly like an admin's "process
again": the switch is atomic (search sees the old chunks or the new ones, never a mix), every process
brings its BM25 index up to date through the index version, the document keeps its id, title,
permissions (public flag and groups) and its version history, and identical content uploaded later
is still recognised as unchanged.

The chunker that cut an index is recorded in the ``index_state`` row :data:`CHUNKER_STATE`. Indexes
older than that record are recognised by their chunk rows: chunker version 1 stored tokens of the
embedding model in ``token_count``, version 2 stores the characters of the chunk's text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.models import Chunk, Document, DocumentVersion, IndexState
from ingest.chunker import CHUNKER_VERSION
from ingest.errors import IngestError
from ingest.originals import OriginalStore
from ingest.pipeline import IngestPipeline, IngestRequest

log = logging.getLogger(__name__)

CHUNKER_STATE = "chunker"
"""The ``index_state`` row whose ``version`` is the chunker version that cut the index."""
LEGACY_CHUNKER_VERSION = 1
REINGEST_KEY_PREFIX = "document:"  # source key given to a document that has none, as admins' re-ingest does

RechunkProgress = Callable[[int, int, str], None]
"""Called after each document with (documents done, documents in all, title)."""


@dataclass(slots=True)
class RechunkReport:
    """What :func:`rechunk_index` did: documents re-chunked, chunk counts before and after, failures."""

    documents: int = 0
    chunks_before: int = 0
    chunks_after: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """Document id → why it could not be re-chunked (missing original, parse error); it keeps its chunks."""


def index_chunker_version(sessions: sessionmaker[Session]) -> int:
    """The chunker version that cut the index's chunks (the current one for an empty index).

    An index with no record is recorded as it is found: empty or cut by this chunker (each chunk's
    ``token_count`` equals its length in characters) → :data:`ingest.chunker.CHUNKER_VERSION`;
    otherwise it predates chunk budgets in characters → 1.
    """
    with transaction(sessions) as session:
        state = session.get(IndexState, CHUNKER_STATE)
        if state is not None:
            return state.version
        version = CHUNKER_VERSION if _all_chunks_in_characters(session) else LEGACY_CHUNKER_VERSION
        session.add(IndexState(name=CHUNKER_STATE, version=version))
        return version


def needs_rechunk(sessions: sessionmaker[Session]) -> bool:
    """Whether the index was cut by an older chunker than this one (run :func:`rechunk_index`)."""
    return index_chunker_version(sessions) < CHUNKER_VERSION


def rechunk_index(
    sessions: sessionmaker[Session],
    pipeline: IngestPipeline,
    originals: OriginalStore,
    progress: RechunkProgress | None = None,
) -> RechunkReport:
    """Cut every document's current version again with ``pipeline``'s chunker; one new version each.

    Run it while no ingestion job is in flight (the caller checks): a job finishing meanwhile for
    the same document would be replaced by the re-chunked older content. A document that fails is
    reported and keeps its chunks; the index is recorded as cut by this chunker only when none failed.
    """
    report = RechunkReport()
    targets = _current_documents(sessions)
    for done, (document_id, title) in enumerate(targets, start=1):
        try:
            before, after = _rechunk_document(sessions, pipeline, originals, document_id)
        except (IngestError, OSError, ValueError, LookupError) as exc:
            log.warning("re-chunking %s (%s) failed: %s", document_id, title, exc)
            report.failed[document_id] = str(exc)
        else:
            report.documents += 1
            report.chunks_before += before
            report.chunks_after += after
        if progress is not None:
            progress(done, len(targets), title)
    if not report.failed:
        _record_chunker_version(sessions, CHUNKER_VERSION)
    return report


def _current_documents(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Document.id, Document.title)
            .where(Document.current_version_id.is_not(None))
            .order_by(Document.created_at, Document.id)
        )
        return [(document_id, title) for document_id, title in rows]


def _rechunk_document(
    sessions: sessionmaker[Session], pipeline: IngestPipeline, originals: OriginalStore, document_id: str
) -> tuple[int, int]:
    """Re-ingest one document's current original as a new version; returns chunk counts before/after."""
    with transaction(sessions) as session:
        document = session.get_one(Document, document_id)
        version = session.get_one(DocumentVersion, document.current_version_id)
        if document.source_key is None:  # the pipeline finds the document to version by its key
            document.source_key = f"{REINGEST_KEY_PREFIX}{document.id}"
        request = IngestRequest(
            data=originals.read(version.file_key),
            filename=document.display_name,
            source_key=document.source_key,
            is_public=document.is_public,
            group_ids=tuple(group.id for group in document.groups),
            force=True,
        )
        before = version.chunk_count
    outcome = pipeline.ingest(request)
    if outcome.document_id != document_id:  # cannot happen while source keys are unique
        msg = f"re-chunking {document_id} wrote document {outcome.document_id}"
        raise LookupError(msg)
    return before, outcome.chunk_count


def _all_chunks_in_characters(session: Session) -> bool:
    """True when no chunk row's ``token_count`` differs from its text's length (also: no chunks)."""
    mismatch = select(func.count()).select_from(Chunk).where(Chunk.token_count != func.length(Chunk.text))
    return int(session.execute(mismatch).scalar_one()) == 0


def _record_chunker_version(sessions: sessionmaker[Session], version: int) -> None:
    with transaction(sessions) as session:
        state = session.get(IndexState, CHUNKER_STATE)
        if state is None:
            session.add(IndexState(name=CHUNKER_STATE, version=version))
        else:
            state.version = version
