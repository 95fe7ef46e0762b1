"""The company dictionary: terms Kiwi keeps whole (products, teams, acronyms), stored in SQL.

Changing the dictionary changes how text is cut into BM25 terms, so a change re-tokenizes the
chunks it affects — those whose indexed text (title, section path, body) contains the term — and
moves the lexical index version. Each re-cut chunk is stamped with the dictionary version that cut
it, so every process (the changing one included) reads back just those chunks into its BM25. The
dictionary has its own version in SQL too: on :meth:`retrieval.index.SearchIndex.refresh` every
process re-reads the terms, so queries everywhere are cut the way the chunks were.
:func:`retokenize_all` cuts every chunk again (``jikji dict retokenize``), for data indexed by an
older version.

The functions here are what the CLI (``jikji dict``) and the HTTP API call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import transaction
from core.models import Chunk, DictionaryTerm, Document
from retrieval import chunk_store
from retrieval.index import SearchIndex, lexical_terms
from retrieval.tokenizer import TermAwareTokenizer, UserTerm
from retrieval.types import ChunkInput

logger = logging.getLogger(__name__)

MAX_TERM_LENGTH = 100
# Kiwi's noun-like tags that make sense for a company term (proper/common noun, foreign word, root).
ALLOWED_TAGS = frozenset({"NNP", "NNG", "SL", "XR"})
RETOKENIZE_BATCH = 500
MAX_CHANGE_ATTEMPTS = 5  # plans of one change before giving up (``busy``)
T = TypeVar("T")


class DictionaryError(ValueError):
    """A dictionary change that cannot be made; ``code`` is stable for API error bodies."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class DictionaryEntry:
    """One stored term, as the CLI and API show it."""

    id: str
    term: str
    tag: str
    score: float
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DictionaryChange:
    """What a change did: the entry added or removed and how many chunks were re-tokenized."""

    entry: DictionaryEntry
    retokenized: int


def normalize_term(term: str) -> str:
    """A term as stored: surrounding and repeated inner whitespace collapsed."""
    return " ".join(term.split())


def list_terms(session: Session) -> list[DictionaryEntry]:
    """Every stored term, alphabetically."""
    rows = session.scalars(select(DictionaryTerm).order_by(DictionaryTerm.term))
    return [_entry(row) for row in rows]


def add_term(
    index: SearchIndex, term: str, *, tag: str = "NNP", score: float = 0.0, created_by: str | None = None
) -> DictionaryChange:
    """Store a term, teach it to this process's tokenizer and re-tokenize the chunks containing it.

    Raises :class:`DictionaryError` (``invalid_term``, ``invalid_tag``, ``duplicate_term``, ``busy``).
    """
    cleaned = _validated(term, tag)

    def plan(session: Session) -> _Plan[DictionaryTerm]:
        if session.scalar(select(DictionaryTerm.id).where(DictionaryTerm.term == cleaned)):
            raise DictionaryError("duplicate_term", f"이미 등록된 용어입니다 / term exists: {cleaned}")
        row = DictionaryTerm(term=cleaned, tag=tag, score=score, created_by=created_by)
        terms = [*chunk_store.dictionary_terms(session), UserTerm(cleaned, tag, score)]
        return _Plan(terms, lambda s: s.add(row), row)

    count, row = _change(index, cleaned, plan)
    return DictionaryChange(_entry(row), count)


def remove_term(index: SearchIndex, term: str) -> DictionaryChange:
    """Delete a term and re-tokenize the chunks containing it; ``unknown_term`` when absent."""
    cleaned = normalize_term(term)

    def plan(session: Session) -> _Plan[DictionaryEntry]:
        row = session.scalar(select(DictionaryTerm).where(DictionaryTerm.term == cleaned))
        if row is None:
            raise DictionaryError("unknown_term", f"등록되지 않은 용어입니다 / no such term: {cleaned}")
        entry = _entry(row)
        terms = [t for t in chunk_store.dictionary_terms(session) if t.term != cleaned]
        statement = delete(DictionaryTerm).where(DictionaryTerm.id == entry.id)
        return _Plan(terms, lambda s: s.execute(statement), entry)

    count, entry = _change(index, cleaned, plan)
    return DictionaryChange(entry, count)


@dataclass(frozen=True, slots=True)
class _Plan(Generic[T]):
    """A dictionary change worked out against the stored terms.

    The dictionary it makes, how to write the row, and what the caller reports (the row added or
    the entry removed).
    """

    terms: list[UserTerm]
    write_row: Callable[[Session], object]
    result: T


class _DictionaryMovedError(Exception):
    """Another dictionary change committed while this one was being prepared."""


def _change(index: SearchIndex, changed: str, plan: Callable[[Session], _Plan[T]]) -> tuple[int, T]:
    """Plan a change against the stored dictionary and apply it; plan again if another change won.

    ``plan`` reads the stored terms (raising :class:`DictionaryError` when the change cannot be
    made). Two changes prepared at once each cut their chunks without the other's term; the
    version check in :func:`_apply` lets the first commit, and the second is planned again on top
    of it. Returns the chunks re-tokenized and the plan's result.
    """
    for _ in range(MAX_CHANGE_ATTEMPTS):
        with index.sessions() as session:
            expected = chunk_store.index_versions(session).get(chunk_store.DICTIONARY_INDEX, 0)
            planned = plan(session)
        try:
            return _apply(index, planned.terms, changed, planned.write_row, expected), planned.result
        except _DictionaryMovedError:
            logger.info("dictionary changed while %r was prepared; preparing it again", changed)
    msg = f"사전이 계속 바뀌고 있습니다. 잠시 후 다시 시도하세요 / the dictionary keeps changing: {changed}"
    raise DictionaryError("busy", msg)


def _apply(
    index: SearchIndex,
    terms: list[UserTerm],
    changed: str,
    write_row: Callable[[Session], object],
    expected: int,
) -> int:
    """Teach ``terms`` to the tokenizer, re-tokenize chunks containing ``changed``, then commit it all.

    The slow part (Kiwi over the affected chunks) runs outside the write transaction. The
    transaction then moves the dictionary version first, which locks it: if it was not
    ``expected`` another change won (:class:`_DictionaryMovedError`). Chunks containing the term that
    were written meanwhile (an ingest that committed after the first look) are cut inside it; later
    ingests see the version moved and cut theirs again (:meth:`SearchIndex.write_chunks`).
    """
    tokenizer = index.tokenizer
    if isinstance(tokenizer, TermAwareTokenizer):
        tokenizer.set_terms(terms)
    try:
        with index.sessions() as session:
            affected = affected_chunks(session, changed)
        new_terms = lexical_terms(index.tokenizer, [(title, chunk) for _, title, chunk in affected])
        with transaction(index.sessions) as session:
            dictionary_version = chunk_store.bump_index_version(session, chunk_store.DICTIONARY_INDEX)
            if dictionary_version != expected + 1:
                raise _DictionaryMovedError
            seen = {chunk_id for chunk_id, _, _ in affected}
            late = [row for row in affected_chunks(session, changed) if row[0] not in seen]
            affected += late
            new_terms += lexical_terms(index.tokenizer, [(title, chunk) for _, title, chunk in late])
            write_row(session)
            session.flush()
            _write_terms(session, [chunk_id for chunk_id, _, _ in affected], new_terms, dictionary_version)
            chunk_store.bump_index_version(session)
    except IntegrityError as exc:
        index.forget_dictionary()
        raise DictionaryError("duplicate_term", f"이미 등록된 용어입니다 / term exists: {changed}") from exc
    except Exception:
        index.forget_dictionary()  # the tokenizer may be ahead of SQL: re-read on the next refresh
        raise
    index.refresh()  # reads back the chunks just re-cut, as every other process does
    logger.info("dictionary change %r re-tokenized %d chunks", changed, len(affected))
    return len(affected)


def affected_chunks(session: Session, term: str) -> list[tuple[str, str, ChunkInput]]:
    """(chunk id, document title, chunk) of every chunk whose title, section path or text contains ``term``.

    Matching is case-insensitive and also tries the term without spaces (the form Kiwi learns).
    """
    needles = {term, term.replace(" ", "")}
    conditions = [
        column.icontains(needle, autoescape=True)
        for needle in needles
        for column in (Chunk.text, Chunk.section_path, Document.title)
    ]
    rows = session.execute(
        select(Chunk.id, Chunk.text, Chunk.section_path, Document.title)
        .join(Document, Document.id == Chunk.document_id)
        .where(or_(*conditions))
        .order_by(Chunk.id)
    )
    return [
        (chunk_id, title, ChunkInput(text, json.loads(path) if path else []))
        for chunk_id, text, path, title in rows
    ]


def retokenize_all(index: SearchIndex, progress: Callable[[int, int], object] | None = None) -> int:
    """Cut every chunk's BM25 terms again with this process's Kiwi and the SQL dictionary; how many.

    For data indexed before an upgrade of Kiwi or of Jikji's term rules. Chunks are read and written
    in batches, each in its own short transaction (searches go on meanwhile; an interrupted run can
    simply be started again); at the end the dictionary version moves, and every process reads the
    re-cut chunks (all of them) back. ``progress(done, total)`` is called after each batch.
    """
    with index.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Chunk)) or 0
        expected = chunk_store.index_versions(session).get(chunk_store.DICTIONARY_INDEX, 0)
    index.load_dictionary()  # at least as new as ``expected``; a newer one is caught below
    done, after = 0, ""
    while True:
        with index.sessions() as session:
            rows = session.execute(
                select(Chunk.id, Chunk.text, Chunk.section_path, Document.title)
                .join(Document, Document.id == Chunk.document_id)
                .where(Chunk.id > after)
                .order_by(Chunk.id)
                .limit(RETOKENIZE_BATCH)
            ).all()
        if not rows:
            break
        pairs = [(title, ChunkInput(text, json.loads(path) if path else [])) for _, text, path, title in rows]
        terms = lexical_terms(index.tokenizer, pairs)
        with transaction(index.sessions) as session:
            # Locked, so a dictionary change cannot commit between this check and the write.
            current = chunk_store.locked_index_version(session, chunk_store.DICTIONARY_INDEX, shared=True)
            if current == expected:
                _write_terms(session, [row[0] for row in rows], terms, expected + 1)
        if current != expected:  # the dictionary changed meanwhile: start over with the new one
            logger.info("dictionary changed during re-tokenization; starting over")
            expected = current
            index.load_dictionary()
            done, after = 0, ""
            continue
        done, after = done + len(rows), rows[-1][0]
        if progress is not None:
            progress(done, max(total, done))
    with transaction(index.sessions) as session:
        chunk_store.bump_index_version(session, chunk_store.DICTIONARY_INDEX)
        chunk_store.bump_index_version(session)
    index.refresh()
    logger.info("re-tokenized all %d chunks", done)
    return done


def _write_terms(
    session: Session, ids: Sequence[str], terms: Iterable[list[str]], dictionary_version: int
) -> None:
    """Store re-tokenized BM25 terms, stamped with the dictionary version that cut them.

    Chunks deleted meanwhile are simply not found. Other processes read back only the chunks
    stamped above the dictionary version their BM25 holds.
    """
    statement = (
        update(Chunk)
        .where(Chunk.id == bindparam("chunk_id"))
        .values(lexical_tokens=bindparam("tokens"), terms_version=dictionary_version)
    )
    values = [
        {"chunk_id": chunk_id, "tokens": json.dumps(chunk_terms, ensure_ascii=False)}
        for chunk_id, chunk_terms in zip(ids, terms, strict=True)
    ]
    connection = session.connection()
    for start in range(0, len(values), RETOKENIZE_BATCH):
        connection.execute(statement, values[start : start + RETOKENIZE_BATCH])


def _validated(term: str, tag: str) -> str:
    cleaned = normalize_term(term)
    if not cleaned or len(cleaned) > MAX_TERM_LENGTH:
        message = f"용어는 1~{MAX_TERM_LENGTH}자여야 합니다 / a term has 1-{MAX_TERM_LENGTH} characters"
        raise DictionaryError("invalid_term", message)
    if tag not in ALLOWED_TAGS:
        allowed = ", ".join(sorted(ALLOWED_TAGS))
        raise DictionaryError("invalid_tag", f"품사 태그는 {allowed} 중 하나 / tag must be one of {allowed}")
    return cleaned


def _entry(row: DictionaryTerm) -> DictionaryEntry:
    return DictionaryEntry(row.id, row.term, row.tag, float(row.score), row.created_by, row.created_at)
