"""Rebuilding the derived indexes (Chroma vectors, the BM25 files) from the SQL chunk store.

SQL holds every chunk's text, section path and BM25 terms, so both derived indexes can be rebuilt
from it alone. The vector pass is resumable: it walks the current versions' chunks in id order and
embeds only those whose vector is missing, so a run cut short (Ctrl-C, a crash, a kill) is picked up
by the next run where it stopped. Vectors whose chunk row is gone are deleted. Permissions live in
SQL only (the vector metadata names the document and version, nothing else), so a rebuild cannot
change who sees what.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.models import Chunk, Document
from core.settings import ChromaSettings
from retrieval.index import SearchIndex, index_text
from retrieval.types import ChunkInput

REBUILD_BATCH = 64
"""Chunks per embedding call and Chroma upsert, with a progress report after each."""

RebuildProgress = Callable[[int, int], None]
"""Called after each batch with (chunks checked, chunks in all)."""


@dataclass(slots=True)
class VectorRebuildReport:
    """What :func:`rebuild_vectors` did."""

    chunks: int = 0
    """Chunks of current versions (each must have a vector afterwards)."""
    already_present: int = 0
    """Of those, chunks whose vector was there already (kept; a resumed run skips them)."""
    embedded: int = 0
    """Chunks embedded and written by this run."""
    stray_removed: int = 0
    """Vectors deleted because no chunk row has their id."""


def current_chunk_ids(sessions: sessionmaker[Session]) -> list[str]:
    """Ids of the chunks of every document's current version, in id order."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Chunk.id)
                .join(Document, Document.id == Chunk.document_id)
                .where(Chunk.version_id == Document.current_version_id)
                .order_by(Chunk.id)
            )
        )


def rebuild_vectors(
    index: SearchIndex, progress: RebuildProgress | None = None, batch: int = REBUILD_BATCH
) -> VectorRebuildReport:
    """Give every current chunk its vector and drop vectors without a chunk row; resumable.

    The stored ids are read before the chunk rows: ingestion writes a chunk's row before its
    vector, so a vector written meanwhile always has a row here and is never taken for a stray.
    """
    stored = set(index.vectors.all_ids())
    with index.sessions() as session:
        known = set(session.scalars(select(Chunk.id)))
    stray = sorted(stored - known)
    index.vectors.delete(stray)
    targets = current_chunk_ids(index.sessions)
    report = VectorRebuildReport(chunks=len(targets), stray_removed=len(stray))
    for start in range(0, len(targets), batch):
        ids = targets[start : start + batch]
        missing = [chunk_id for chunk_id in ids if chunk_id not in stored]
        report.already_present += len(ids) - len(missing)
        if missing:
            report.embedded += _embed_and_store(index, missing)
        if progress is not None:
            progress(start + len(ids), len(targets))
    return report


def _embed_and_store(index: SearchIndex, chunk_ids: Sequence[str]) -> int:
    """Embed the chunks' index texts (title and section path, as ingestion did) and upsert them."""
    with index.sessions() as session:
        rows = session.execute(
            select(Chunk, Document.title)
            .join(Document, Document.id == Chunk.document_id)
            .where(Chunk.id.in_(list(chunk_ids)))
            .order_by(Chunk.id)
        ).all()
    texts = [index_text(title, _chunk_input(chunk)) for chunk, title in rows]
    vectors = index.embedder.embed_passages(texts)
    metadatas = [{"document_id": chunk.document_id, "version_id": chunk.version_id} for chunk, _ in rows]
    index.vectors.upsert([chunk.id for chunk, _ in rows], vectors, metadatas)
    return len(rows)


def _chunk_input(chunk: Chunk) -> ChunkInput:
    section = json.loads(chunk.section_path) if chunk.section_path else []
    return ChunkInput(
        text=chunk.text,
        section_path=list(section),
        article=chunk.article,
        page=chunk.page,
        location=chunk.location,
        token_count=chunk.token_count,
    )


def drop_vector_collection(settings: ChromaSettings, data_dir: Path) -> None:
    """Delete the chunk collection, its vectors and its model stamp; the next open creates it empty.

    Embedded: the Chroma folder is removed (no client of this process may have it open). Server:
    the collection is deleted there (a missing one is fine).
    """
    if settings.mode != "http":
        shutil.rmtree(data_dir / "chroma", ignore_errors=True)
        return
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    client: Any = chromadb.HttpClient(
        host=settings.host, port=settings.port, settings=ChromaClientSettings(anonymized_telemetry=False)
    )
    try:
        if settings.collection in {c.name for c in client.list_collections()}:
            client.delete_collection(settings.collection)
    finally:
        client.close()


def discard_lexical_files(lexical_dir: Path) -> None:
    """Remove the saved BM25 index, so the next refresh reads every chunk's terms from SQL."""
    shutil.rmtree(lexical_dir, ignore_errors=True)


def rebuild_lexical(index: SearchIndex) -> int:
    """Read the BM25 index from SQL (after :func:`discard_lexical_files`) and save it; its row count."""
    index.checkpoint()
    return len(index.lexical)
