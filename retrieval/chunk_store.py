"""Small data-access functions for chunks and index state in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.db import upsert_for, utcnow
from core.models import Chunk, DictionaryTerm, Document, IndexState, document_groups
from retrieval.tokenizer import UserTerm
from retrieval.types import AccessScope

LEXICAL_INDEX = "lexical"
ACL_INDEX = "acl"
DICTIONARY_INDEX = "dictionary"
IN_BATCH = 500  # ids per IN (...) list, well under every database's parameter limit


def visible_documents_clause(scope: AccessScope):  # type: ignore[no-untyped-def]
    """SQL condition on ``Document`` for what ``scope`` may see (deny by default)."""
    allowed: ColumnElement[bool]
    if scope.is_admin:
        allowed = true()
    else:
        shared = select(document_groups.c.document_id).where(document_groups.c.group_id.in_(scope.group_ids))
        allowed = Document.is_public.is_(True) | Document.id.in_(shared)
    if scope.only_documents is not None:
        return and_(allowed, Document.id.in_(sorted(scope.only_documents)))
    return allowed


HIT_COLUMNS = (
    Chunk.id.label("chunk_id"),
    Chunk.version_id,
    Chunk.ordinal,
    Chunk.text,
    Chunk.section_path,
    Chunk.article,
    Chunk.page,
    Chunk.location,
    Document.id.label("document_id"),
    Document.title,
    Document.display_name,
)


def load_current_chunk_rows(
    session: Session, chunk_ids: Sequence[str], documents: frozenset[str] | None
) -> dict[str, Any]:
    """Rows (:data:`HIT_COLUMNS`) of the chunks among ``chunk_ids`` that belong to a current version
    of a document in ``documents`` (``None``: any document, for admins).

    ``documents`` is the caller's visible set from :func:`visible_document_ids`; checking it here
    instead of joining the group tables again keeps this query under a millisecond.
    """
    if not chunk_ids:
        return {}
    rows: Sequence[Any] = session.execute(
        select(*HIT_COLUMNS)
        .join(Document, Document.id == Chunk.document_id)
        .where(Chunk.id.in_(list(chunk_ids)), Chunk.version_id == Document.current_version_id)
    ).all()
    return {row.chunk_id: row for row in rows if documents is None or row.document_id in documents}


def current_versions(session: Session) -> dict[str, str]:
    """Each document's current version id (documents without one are left out)."""
    rows = session.execute(
        select(Document.id, Document.current_version_id).where(Document.current_version_id.is_not(None))
    )
    return {document_id: version_id for document_id, version_id in rows if version_id}


def lexical_rows_of_versions(
    session: Session, version_ids: Sequence[str]
) -> list[tuple[str, str, list[str]]]:
    """(chunk id, document id, BM25 terms) of every chunk of the given versions."""
    rows: list[tuple[str, str, list[str]]] = []
    for start in range(0, len(version_ids), IN_BATCH):
        batch = list(version_ids[start : start + IN_BATCH])
        result = session.execute(
            select(Chunk.id, Chunk.document_id, Chunk.lexical_tokens)
            .where(Chunk.version_id.in_(batch))
            .order_by(Chunk.version_id, Chunk.ordinal)
        )
        rows += [
            (chunk_id, document_id, json.loads(tokens) if tokens else [])
            for chunk_id, document_id, tokens in result
        ]
    return rows


def visible_document_ids(session: Session, scope: AccessScope) -> frozenset[str]:
    """Ids of documents with a current version that ``scope`` may see."""
    query = select(Document.id).where(
        Document.current_version_id.is_not(None), visible_documents_clause(scope)
    )
    return frozenset(session.scalars(query))


def chunk_ids_of_version(session: Session, version_id: str) -> list[str]:
    """Ids of all chunks of one version."""
    return list(session.scalars(select(Chunk.id).where(Chunk.version_id == version_id)))


def delete_chunks_of_version(session: Session, version_id: str) -> None:
    """Delete the SQL rows of one version's chunks."""
    session.execute(delete(Chunk).where(Chunk.version_id == version_id))


def lexical_rows_retokenized_after(
    session: Session, dictionary_version: int
) -> list[tuple[str, str, list[str]]]:
    """(chunk id, document id, BM25 terms) of every chunk re-cut by a dictionary change after this one."""
    result = session.execute(
        select(Chunk.id, Chunk.document_id, Chunk.lexical_tokens)
        .where(Chunk.terms_version > dictionary_version)
        .order_by(Chunk.id)
    )
    return [
        (chunk_id, document_id, json.loads(tokens) if tokens else [])
        for chunk_id, document_id, tokens in result
    ]


def index_versions(session: Session) -> dict[str, int]:
    """Every index's version number, in one query."""
    return dict(session.execute(select(IndexState.name, IndexState.version)).all())


def locked_index_version(session: Session, name: str, *, shared: bool = False) -> int:
    """An index's version, locked until the caller's transaction ends.

    ``shared=False`` (FOR UPDATE) makes writers of the version and other lockers wait;
    ``shared=True`` (FOR SHARE) only makes writers wait. On SQLite, which has no row locks, the
    insert that makes sure the row exists takes the database's single write lock instead.
    """
    _ensure_index_row(session, name)
    statement = select(IndexState.version).where(IndexState.name == name).with_for_update(read=shared)
    return int(session.execute(statement).scalar_one())


def bump_index_version(session: Session, name: str = LEXICAL_INDEX) -> int:
    """Increase an index's version in the caller's transaction; returns the new number.

    One ``UPDATE … SET version = version + 1``, so concurrent bumps never lose one.
    """
    _ensure_index_row(session, name)
    statement = (
        update(IndexState)
        .where(IndexState.name == name)
        .values(version=IndexState.version + 1, updated_at=utcnow())
        .returning(IndexState.version)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(statement).scalar_one())


def _ensure_index_row(session: Session, name: str) -> None:
    insert = upsert_for(session)
    row = {"name": name, "version": 0, "updated_at": utcnow()}
    session.execute(insert(IndexState).values(**row).on_conflict_do_nothing(index_elements=["name"]))


def dictionary_terms(session: Session) -> list[UserTerm]:
    """The company dictionary as the tokenizer takes it."""
    rows = session.execute(select(DictionaryTerm.term, DictionaryTerm.tag, DictionaryTerm.score))
    return [UserTerm(term, tag, float(score)) for term, tag, score in rows]
