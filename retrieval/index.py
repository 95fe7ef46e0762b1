"""The search index: SQL chunk rows, Chroma vectors and the BM25 index, kept in agreement.

SQL is the source of truth. A version's chunks are written to SQL and Chroma first, inactive; one
SQL transaction then makes the version current (so readers switch atomically: search only returns
chunks of current versions); the old version's chunks are removed afterwards. Whenever the
lexical index version in SQL moves, each process brings its BM25 index up to date from SQL: it
swaps in the terms of documents whose current version changed and of chunks a company-dictionary
change re-cut, so every process agrees without rebuilding.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from core.db import new_id, transaction
from core.models import Chunk, Document, DocumentVersion
from retrieval import chunk_store
from retrieval.embedder import Embedder
from retrieval.lexical import MANIFEST, LexicalIndex
from retrieval.tokenizer import LexicalTokenizer, TermAwareTokenizer
from retrieval.types import ChunkInput, Vectors
from retrieval.vectors import VectorStore

# Save BM25 once this many rows changed since the last save (or a tenth of the index, if more), so a
# starting process has little to catch up on; :meth:`SearchIndex.checkpoint` saves after each batch.
SAVE_AFTER_ROWS = 5000
READ_BATCH = 1000  # versions whose BM25 terms are read from SQL and added at a time
MAX_CUT_ATTEMPTS = 5  # times a version's chunks are cut again when the dictionary moves
logger = logging.getLogger(__name__)

ProgressCallback = Callable[[float, str], None]
UPSERT_BATCH = 64  # vectors per Chroma upsert, with a progress report after each


def context_line(title: str, chunk: ChunkInput) -> str:
    """A chunk's document title and the section path its text does not already start with."""
    return " > ".join([title, *[s for s in chunk.section_path if s not in chunk.text[:200]]])


def index_text(title: str, chunk: ChunkInput) -> str:
    """The text embedded for a chunk: its document title and section path give it context."""
    return f"{context_line(title, chunk)}\n{chunk.text}"


def lexical_text(title: str, chunk: ChunkInput) -> str:
    """The text BM25 indexes for a chunk: :func:`index_text` with its context line twice.

    Title and section matches count double, a poor man's BM25F: on the dev set this lifted
    BM25 R@1 from 0.864 to 0.874 and MRR@10 from 0.924 to 0.929; body-only text gave 0.813
    (bench/README.md, ``python -m bench.sweep --fields``). Analysing the context line once, apart
    from the text, saved 5 % of Kiwi's time but gave R@1 0.864 (this layout 0.874-0.879 from run
    to run), so the line stays in the text Kiwi reads.
    """
    line = context_line(title, chunk)
    return f"{line}\n{line}\n{chunk.text}"


def lexical_terms(tokenizer: LexicalTokenizer, chunks: Sequence[tuple[str, ChunkInput]]) -> list[list[str]]:
    """BM25 terms of (document title, chunk) pairs, analysed in one batch."""
    return list(tokenizer.tokenize_many(lexical_text(title, chunk) for title, chunk in chunks))


class SearchIndex:
    """Writes to and reads from the three stores; one instance per process."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        vectors: VectorStore,
        embedder: Embedder,
        tokenizer: LexicalTokenizer,
        lexical: LexicalIndex,
        lexical_dir: Path,
    ) -> None:
        vectors.check_embedder(embedder.name, embedder.dimension)  # never a mixed index
        self.sessions = sessions
        self.vectors = vectors
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.lexical = lexical
        self._lexical_dir = lexical_dir
        self._lock = threading.RLock()
        self._lexical_loaded = False
        self._unsaved_rows = 0  # rows changed since BM25 was last saved
        self._save_lock = threading.Lock()
        self._saving = False  # a background save (or take-up of a saved snapshot) is running
        self._snapshot_stamp: tuple[int, int] | None = None  # the saved snapshot last loaded or saved
        self.acl_version = 0
        self._dictionary_version: int | None = None

    # --- writing ----------------------------------------------------------------------------

    def write_chunks(
        self,
        document_id: str,
        version_id: str,
        title: str,
        chunks: Sequence[ChunkInput],
        progress: ProgressCallback | None = None,
        vectors: Vectors | None = None,
    ) -> list[str]:
        """Store an (inactive) version's chunks in SQL and Chroma; returns their ids.

        ``vectors`` (one row per chunk, of :func:`index_text`) are stored as given when the caller
        embedded the chunks already (ingestion pools several files per batch); else they are embedded here
        first.
        """
        if vectors is None:
            vectors = self.embedder.embed_passages([index_text(title, chunk) for chunk in chunks])
        if len(vectors) != len(chunks):
            msg = f"{len(vectors)} vectors for {len(chunks)} chunks"
            raise ValueError(msg)
        ids = [new_id() for _ in chunks]
        self._insert_chunk_rows(document_id, version_id, title, chunks, ids)
        metadata = {"document_id": document_id, "version_id": version_id}
        for start in range(0, len(ids), UPSERT_BATCH):
            batch = ids[start : start + UPSERT_BATCH]
            self.vectors.upsert(batch, vectors[start : start + len(batch)], [metadata] * len(batch))
            if progress:
                progress(min(1.0, (start + len(batch)) / max(1, len(ids))), "indexing")
        return ids

    def _insert_chunk_rows(
        self, document_id: str, version_id: str, title: str, chunks: Sequence[ChunkInput], ids: list[str]
    ) -> None:
        """Write the chunks' SQL rows with BM25 terms cut by the company dictionary SQL holds now.

        The dictionary version is checked after the rows are written, under a lock a dictionary
        change waits for: if a change committed after the terms were cut (its chunk search could not
        see these rows yet), the rows are rolled back and cut again with the new dictionary.
        """
        for _ in range(MAX_CUT_ATTEMPTS):
            self.load_dictionary()
            cut_with = self._dictionary_version
            terms = lexical_terms(self.tokenizer, [(title, chunk) for chunk in chunks])
            rows = [
                _chunk_row(chunk_id, document_id, version_id, i, chunk, chunk_terms)
                for i, (chunk_id, chunk, chunk_terms) in enumerate(zip(ids, chunks, terms, strict=True))
            ]
            try:
                with transaction(self.sessions) as session:
                    session.add_all(rows)
                    session.flush()
                    dictionary = chunk_store.DICTIONARY_INDEX
                    if chunk_store.locked_index_version(session, dictionary, shared=True) != cut_with:
                        raise _CutWithOldDictionaryError
                return
            except _CutWithOldDictionaryError:
                logger.info("company dictionary changed while %s was cut; cutting it again", version_id)
        msg = "사전이 계속 바뀌고 있습니다 / the company dictionary keeps changing; try the file again"
        raise RuntimeError(msg)

    def activate_version(self, document_id: str, version_id: str) -> str | None:
        """Make ``version_id`` current in one transaction and drop the previous version's chunks."""
        with transaction(self.sessions) as session:
            document = session.get(Document, document_id, with_for_update=True)
            if document is None:
                msg = f"document {document_id} vanished during ingestion"
                raise LookupError(msg)
            previous = document.current_version_id
            document.current_version_id = version_id
            session.get_one(DocumentVersion, version_id).chunk_count = len(
                chunk_store.chunk_ids_of_version(session, version_id)
            )
            chunk_store.bump_index_version(session)
        if previous and previous != version_id:
            self.purge_version(previous)
        return previous

    def purge_version(self, version_id: str) -> None:
        """Remove one version's chunks from Chroma and SQL (the version row stays as history).

        The SQL rows go even when Chroma cannot be reached: the vectors left behind have no chunk row,
        so they are never returned, and :meth:`repair` deletes them.
        """
        with transaction(self.sessions) as session:
            ids = chunk_store.chunk_ids_of_version(session, version_id)
        try:
            self.vectors.delete(ids)
        finally:
            with transaction(self.sessions) as session:
                chunk_store.delete_chunks_of_version(session, version_id)

    def delete_document(self, document_id: str) -> None:
        """Delete a document's chunks everywhere, then its SQL rows."""
        with transaction(self.sessions) as session:
            ids = list(session.scalars(select(Chunk.id).where(Chunk.document_id == document_id)))
        self.vectors.delete(ids)
        with transaction(self.sessions) as session:
            document = session.get(Document, document_id)
            if document is not None:
                document.current_version_id = None
                session.flush()
                session.delete(document)
            chunk_store.bump_index_version(session)

    def permissions_changed(self) -> None:
        """Record that document visibility changed, so every process drops cached permissions."""
        with transaction(self.sessions) as session:
            chunk_store.bump_index_version(session, chunk_store.ACL_INDEX)
        self.refresh()

    # --- repair after a crash ---------------------------------------------------------------

    def repair(self, busy_source_keys: set[str], busy_since: datetime | None) -> list[str]:
        """Remove what a crashed ingestion left behind; returns original file keys no longer needed.

        Orphans are versions newer than their document's current one (or of a document that never got
        a current version) that no job in flight may still be writing, and vectors whose chunk row is
        gone. The BM25 index is rebuilt from SQL afterwards.
        """
        orphans = self._orphan_versions(busy_source_keys, busy_since)
        file_keys = []
        for version_id, file_key in orphans:
            self.purge_version(version_id)
            file_keys.append(file_key)
        with transaction(self.sessions) as session:
            for version_id, _ in orphans:
                session.execute(delete(DocumentVersion).where(DocumentVersion.id == version_id))
            session.execute(
                delete(Document).where(
                    Document.current_version_id.is_(None),
                    ~Document.id.in_(select(DocumentVersion.document_id)),
                )
            )
            known = set(session.scalars(select(Chunk.id)))
            chunk_store.bump_index_version(session)
        stray = [chunk_id for chunk_id in self.vectors.all_ids() if chunk_id not in known]
        self.vectors.delete(stray)
        self.checkpoint()
        return file_keys

    def _orphan_versions(
        self, busy_source_keys: set[str], busy_since: datetime | None
    ) -> list[tuple[str, str]]:
        current = aliased(DocumentVersion)
        with self.sessions() as session:
            rows = session.execute(
                select(DocumentVersion, Document, current.number)
                .join(Document, Document.id == DocumentVersion.document_id)
                .outerjoin(current, current.id == Document.current_version_id)
            ).all()
        orphans = []
        for version, document, current_number in rows:
            if current_number is not None and version.number <= current_number:
                continue
            if document.source_key in busy_source_keys:
                continue
            created = (
                version.created_at.replace(tzinfo=UTC)
                if version.created_at.tzinfo is None
                else version.created_at
            )
            if busy_since is not None and created >= busy_since:
                continue
            orphans.append((version.id, version.file_key))
        return orphans

    # --- keeping the lexical leg in step ----------------------------------------------------

    def refresh(self) -> bool:
        """Bring BM25 up to date if SQL says the index moved on; True when it changed.

        Only documents whose current version changed are swapped (see :meth:`_caught_up`); a copy is
        changed and then published, so a search running meanwhile uses the previous index whole.
        """
        with self.sessions() as session:
            versions = chunk_store.index_versions(session)
        version = versions.get(chunk_store.LEXICAL_INDEX, 0)
        dictionary = versions.get(chunk_store.DICTIONARY_INDEX, 0)
        self.acl_version = versions.get(chunk_store.ACL_INDEX, 0)
        self._sync_dictionary(dictionary)
        self._adopt_if_saved_elsewhere()
        if self._lexical_loaded and version == self.lexical.version:
            return False
        with self._lock:
            if self._lexical_loaded and version == self.lexical.version:
                return False
            self.lexical = self._caught_up(version, dictionary)
            self._lexical_loaded = True
            due = not self._saving and self._unsaved_rows >= max(SAVE_AFTER_ROWS, len(self.lexical) // 10)
            self._saving = self._saving or due
        if due:  # not in the search that noticed the change: a save copies, writes and fsyncs
            threading.Thread(target=self._save_in_background, name="jikji-bm25-save", daemon=True).start()
        return True

    def _save_in_background(self) -> None:
        try:
            self._save_snapshot()
        finally:
            self._saving = False

    def _adopt_if_saved_elsewhere(self) -> None:
        """Take up a snapshot another process saved since this one last loaded or saved, in the background.

        The snapshot's arrays are memory-mapped, so the processes of one host that hold the same snapshot
        share its pages; one still mapping a replaced snapshot keeps a copy of its own.
        """
        if not self._lexical_loaded or self._saving:
            return
        stamp = _snapshot_stamp(self._lexical_dir)
        if stamp is None or stamp == self._snapshot_stamp:
            return
        with self._lock:
            if self._saving:
                return
            self._saving = True
        threading.Thread(target=self._adopt_in_background, name="jikji-bm25-adopt", daemon=True).start()

    def _adopt_in_background(self) -> None:
        try:
            self._adopt_saved()
        finally:
            self._saving = False

    def _adopt_saved(self) -> bool:
        """Replace BM25 by the saved snapshot (memory-mapped) when it holds exactly what BM25 holds now
        (same index and dictionary versions); True when taken.

        Nothing is read from SQL: a snapshot of another version is left alone (:meth:`refresh` keeps
        its own copy up to date meanwhile, and the next save brings the processes together again).
        """
        stamp = _snapshot_stamp(self._lexical_dir)
        current = self.lexical
        if LexicalIndex.saved_versions(self._lexical_dir) != (current.version, current.dictionary_version):
            self._snapshot_stamp = stamp  # not tried again until another save
            return False
        saved = LexicalIndex(*current.params)
        loaded = saved.load(self._lexical_dir)
        with self._lock:
            self._snapshot_stamp = stamp
            same = (saved.version, saved.dictionary_version) == (
                self.lexical.version,
                self.lexical.dictionary_version,
            )
            if not loaded or not same:
                return False
            self.lexical, self._unsaved_rows = saved, 0
        return True

    def checkpoint(self) -> None:
        """Refresh, then save BM25 if it changed since it was last saved (after a batch of work).

        A background save already writing is waited for, so the snapshot is on disk on return.
        """
        self.refresh()
        with self._save_lock:  # held by a background save while it copies and writes
            pass
        if self._unsaved_rows:
            self._save_snapshot()

    def _save_snapshot(self) -> None:
        """Save a copy of BM25 as it is now, outside the index lock so searches go on meanwhile.

        A failed save is logged and retried at the next checkpoint: the saved index only shortens
        a starting process's catch-up, SQL stays the source of truth.
        """
        with self._save_lock:
            elsewhere = _snapshot_stamp(self._lexical_dir) not in (None, self._snapshot_stamp)
            if elsewhere and self._adopt_saved():  # another process saved this very index meanwhile
                return
            with self._lock:
                snapshot, unsaved, self._unsaved_rows = self.lexical.copy(), self._unsaved_rows, 0
            try:
                snapshot.save(self._lexical_dir)
            except OSError:
                logger.warning("could not save the BM25 index to %s", self._lexical_dir, exc_info=True)
                with self._lock:
                    self._unsaved_rows += unsaved
                return
            self._adopt_saved()  # the saved snapshot, mapped, instead of this process's own copy

    def _caught_up(self, version: int, dictionary: int) -> LexicalIndex:
        """The BM25 index at SQL's state: the current one (or the saved one) with changed documents swapped.

        When SQL's company dictionary is newer than the one the terms were cut with, the chunks
        re-cut since are read back too.
        """
        params = self.lexical.params
        fresh = self.lexical.copy() if self._lexical_loaded else LexicalIndex(*params)
        if not self._lexical_loaded:
            self._snapshot_stamp = _snapshot_stamp(self._lexical_dir)
        loaded = self._lexical_loaded or fresh.load(self._lexical_dir)
        if not loaded or fresh.dictionary_version > dictionary:  # none yet, or SQL went back (a restore)
            fresh = LexicalIndex(*params)
            fresh.dictionary_version = dictionary  # a full read takes every chunk's terms as they are
            self._unsaved_rows = SAVE_AFTER_ROWS  # a full read is worth saving at once
        if fresh.dictionary_version != dictionary:
            self._unsaved_rows += _swap_retokenized_chunks(self.sessions, fresh)
            fresh.dictionary_version = dictionary
        self._unsaved_rows += _swap_changed_documents(self.sessions, fresh)
        fresh.version = version
        return fresh

    def load_dictionary(self) -> bool:
        """Give the tokenizer the SQL company dictionary if it moved (start-up, writes); True if changed."""
        with self.sessions() as session:
            version = chunk_store.index_versions(session).get(chunk_store.DICTIONARY_INDEX, 0)
        return self._sync_dictionary(version)

    def forget_dictionary(self) -> None:
        """Re-read the dictionary on the next refresh (after a failed change left the tokenizer ahead)."""
        self._dictionary_version = None

    def _sync_dictionary(self, version: int) -> bool:
        """Apply the SQL dictionary to the tokenizer when its version moved since the last look."""
        if version == self._dictionary_version:
            return False
        with self._lock:
            if version == self._dictionary_version:
                return False
            changed = False
            if isinstance(self.tokenizer, TermAwareTokenizer):
                with self.sessions() as session:
                    terms = chunk_store.dictionary_terms(session)
                changed = self.tokenizer.set_terms(terms)
            self._dictionary_version = version
        return changed


def _snapshot_stamp(directory: Path) -> tuple[int, int] | None:
    """When and how the saved BM25 snapshot's manifest was last written (None when there is none)."""
    try:
        stat = (directory / MANIFEST).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_ino


def _swap_changed_documents(sessions: sessionmaker[Session], lexical: LexicalIndex) -> int:
    """Make ``lexical`` hold each document's current version; returns the rows removed and added."""
    with sessions() as session:
        current = chunk_store.current_versions(session)
    held = lexical.document_versions
    stale = sorted(d for d in current.keys() | held.keys() if current.get(d) != held.get(d))
    if not stale:
        return 0
    before = len(lexical)
    lexical.remove_documents(stale)
    removed, added = before - len(lexical), 0
    versions = [current[d] for d in stale if d in current]
    with lexical.bulk():  # a full read holds one batch's parsed terms at a time, not a million chunks'
        for start in range(0, len(versions), READ_BATCH):
            with sessions() as session:
                rows = chunk_store.lexical_rows_of_versions(session, versions[start : start + READ_BATCH])
            lexical.add([row[0] for row in rows], [row[2] for row in rows], [row[1] for row in rows])
            added += len(rows)
    lexical.document_versions.update((d, current[d]) for d in stale if d in current)
    return removed + added


class _CutWithOldDictionaryError(Exception):
    """Chunk terms were cut with a company dictionary that has changed since (rolls the rows back)."""


def _swap_retokenized_chunks(sessions: sessionmaker[Session], lexical: LexicalIndex) -> int:
    """Replace the terms of ``lexical``'s chunks re-cut by dictionary changes it has not seen; how many.

    Chunks it does not hold (versions not current here) are left to :func:`_swap_changed_documents`.
    """
    with sessions() as session:
        rows = chunk_store.lexical_rows_retokenized_after(session, lexical.dictionary_version)
    documents = lexical.documents_of([row[0] for row in rows])
    held = [row for row, document in zip(rows, documents, strict=True) if document == row[1]]
    lexical.add([row[0] for row in held], [row[2] for row in held], [row[1] for row in held])
    return len(held)


def _chunk_row(
    chunk_id: str, document_id: str, version_id: str, ordinal: int, chunk: ChunkInput, terms: list[str]
) -> Chunk:
    return Chunk(
        id=chunk_id,
        document_id=document_id,
        version_id=version_id,
        ordinal=ordinal,
        text=chunk.text,
        section_path=json.dumps(chunk.section_path, ensure_ascii=False),
        article=chunk.article,
        page=chunk.page,
        location=chunk.location,
        token_count=chunk.token_count,
        lexical_tokens=json.dumps(terms, ensure_ascii=False),
    )
