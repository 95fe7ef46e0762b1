"""The lexical leg: BM25 over Kiwi morphemes, updated in place and persisted in the data directory.

The index keeps postings (which rows hold a term, how often) rather than precomputed scores, and
scores at query time with the collection statistics of that moment. A change therefore touches only
the documents that changed: their old rows are marked dead and their new chunks are appended as a
small segment. Segments and dead rows are merged away in memory once they pile up, so no change
rebuilds the index from SQL. Scores are those of bm25s's Lucene variant (the library the index was
first built on), so the fusion weights tuned on them still hold.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

MANIFEST = "jikji_manifest.json"
LOCK_FILE = ".lock"
MASK_CACHE = 64
# Past this many segments the small ones (all but the first) are merged into one; when those hold more
# than a tenth of the first one's postings, or a fifth of the rows are dead, everything is compacted.
MAX_SEGMENTS = 8
MAX_TAIL_SHARE = 0.1
MAX_DEAD_SHARE = 0.2
logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ScoredId:
    """A chunk id with a score from one retrieval leg."""

    chunk_id: str
    score: float


@dataclass(frozen=True, slots=True)
class _Segment:
    """Postings of some rows grouped by term: ``rows[starts[t]:starts[t + 1]]`` contain term ``t``."""

    starts: npt.NDArray[np.int64]
    rows: IntArray
    counts: FloatArray

    def postings(self, term: int) -> tuple[IntArray, FloatArray]:
        if term + 1 >= len(self.starts):
            return _NO_ROWS, _NO_COUNTS
        begin, end = int(self.starts[term]), int(self.starts[term + 1])
        return self.rows[begin:end], self.counts[begin:end]

    @property
    def size(self) -> int:
        return len(self.rows)


_NO_ROWS = np.zeros(0, dtype=np.int32)
_NO_COUNTS = np.zeros(0, dtype=np.float32)


def _segment(terms: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], vocabulary: int) -> _Segment:
    """A segment from one (term, row) pair per term occurrence (repeats are counted)."""
    if len(terms) == 0:
        return _Segment(np.zeros(vocabulary + 1, dtype=np.int64), _NO_ROWS, _NO_COUNTS)
    width = int(rows.max()) + 1
    keys, counts = np.unique(terms * width + rows, return_counts=True)
    return _from_sorted(keys // width, keys % width, counts.astype(np.float32), vocabulary)


def _from_sorted(
    terms: npt.NDArray[np.int64], rows: npt.NDArray[np.integer], counts: FloatArray, vocabulary: int
) -> _Segment:
    """A segment from postings already ordered by term."""
    starts = np.zeros(vocabulary + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=vocabulary), out=starts[1:])
    return _Segment(starts, rows.astype(np.int32), counts.astype(np.float32))


def _merged(
    segments: Sequence[_Segment],
    alive: npt.NDArray[np.bool_],
    renumber: npt.NDArray[np.int64] | None,
    vocabulary: int,
) -> _Segment:
    """One segment with the live postings of ``segments`` (rows renumbered when ``renumber`` is given)."""
    terms: list[npt.NDArray[np.int64]] = []
    rows: list[npt.NDArray[np.int64]] = []
    counts: list[FloatArray] = []
    for segment in segments:
        keep = alive[segment.rows]
        terms.append(np.repeat(np.arange(len(segment.starts) - 1), np.diff(segment.starts))[keep])
        kept_rows = segment.rows[keep]
        rows.append(renumber[kept_rows] if renumber is not None else kept_rows.astype(np.int64))
        counts.append(segment.counts[keep])
    if not terms:
        return _from_sorted(np.zeros(0, dtype=np.int64), _NO_ROWS, _NO_COUNTS, vocabulary)
    all_terms = np.concatenate(terms)
    order = np.argsort(all_terms, kind="stable")
    merged_rows, merged_counts = np.concatenate(rows)[order], np.concatenate(counts)[order]
    return _from_sorted(all_terms[order], merged_rows, merged_counts, vocabulary)


class LexicalIndex:
    """An in-memory BM25 index over chunk ids, saved to and loaded from a directory.

    ``version`` is the SQL index version the index reflects, ``dictionary_version`` the company
    dictionary its terms were cut with; ``document_versions`` maps each indexed document to the version
    whose chunks it holds, so a process can bring the index up to date by comparing it with SQL.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self._k1, self._b = k1, b
        self.version = 0
        self.dictionary_version = 0
        self.document_versions: dict[str, str] = {}
        self._reset()

    def _reset(self) -> None:
        self._ids: list[str] = []
        self._position: dict[str, int] = {}
        self._doc_codes: dict[str, int] = {}
        self._doc_names: list[str] = []  # by code
        self._doc_of_row = np.zeros(0, dtype=np.int32)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._lengths = np.zeros(0, dtype=np.float32)
        self._vocabulary: dict[str, int] = {}
        self._segments: list[_Segment] = []
        self._masks: dict[frozenset[str], npt.NDArray[np.bool_]] = {}

    def __len__(self) -> int:
        return int(np.count_nonzero(self._alive))

    @property
    def params(self) -> tuple[float, float]:
        """The BM25 parameters (k1, b)."""
        return self._k1, self._b

    @property
    def ids(self) -> list[str]:
        """Ids of the chunks in the index."""
        return [self._ids[i] for i in np.flatnonzero(self._alive)]

    def copy(self) -> LexicalIndex:
        """An independent index with the same content (segments, which never change, are shared).

        Changes are made to a copy and then published, so searches never see one half-made.
        """
        twin = LexicalIndex(self._k1, self._b)
        twin.version, twin.dictionary_version = self.version, self.dictionary_version
        twin.document_versions = dict(self.document_versions)
        twin._ids, twin._doc_names = list(self._ids), list(self._doc_names)
        twin._position, twin._doc_codes = dict(self._position), dict(self._doc_codes)
        twin._doc_of_row, twin._lengths = self._doc_of_row, self._lengths
        twin._alive = self._alive.copy()
        twin._vocabulary = dict(self._vocabulary)
        twin._segments = list(self._segments)
        return twin

    # --- changing ---------------------------------------------------------------------------

    def build(
        self,
        ids: Sequence[str],
        tokens: Sequence[list[str]],
        documents: Sequence[str],
        version: int = 0,
    ) -> None:
        """Replace the index with the given chunks, their terms and the document of each."""
        self._reset()
        self.document_versions = {}
        self.add(ids, tokens, documents)
        self.version = version

    def add(
        self,
        ids: Sequence[str],
        tokens: Sequence[list[str]],
        documents: Sequence[str],
    ) -> None:
        """Append chunks (a chunk id already present is replaced; within ``ids`` the last one counts)."""
        if len(set(ids)) < len(ids):
            last = {chunk_id: i for i, chunk_id in enumerate(ids)}
            keep = sorted(last.values())
            ids, tokens, documents = (
                [ids[i] for i in keep],
                [tokens[i] for i in keep],
                [documents[i] for i in keep],
            )
        if not ids:
            return
        self.remove_ids([chunk_id for chunk_id in ids if chunk_id in self._position])
        first = len(self._ids)
        lookup = self._vocabulary.setdefault
        flat = [lookup(term, len(self._vocabulary)) for terms in tokens for term in terms]
        lengths = np.fromiter((len(terms) for terms in tokens), dtype=np.int64, count=len(tokens))
        rows = np.repeat(np.arange(first, first + len(ids), dtype=np.int64), lengths)
        self._segments.append(_segment(np.asarray(flat, dtype=np.int64), rows, len(self._vocabulary)))
        codes = [self._code_of(doc) for doc in documents]
        self._ids.extend(ids)
        self._position.update((chunk_id, first + i) for i, chunk_id in enumerate(ids))
        self._doc_of_row = np.concatenate([self._doc_of_row, np.asarray(codes, dtype=np.int32)])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=np.bool_)])
        self._lengths = np.concatenate([self._lengths, lengths.astype(np.float32)])
        self._changed()

    def _code_of(self, document: str) -> int:
        code = self._doc_codes.get(document)
        if code is None:
            code = self._doc_codes[document] = len(self._doc_names)
            self._doc_names.append(document)
        return code

    def remove_documents(self, documents: Sequence[str]) -> None:
        """Drop every chunk of the given documents."""
        codes = [self._doc_codes[doc] for doc in documents if doc in self._doc_codes]
        for doc in documents:
            self.document_versions.pop(doc, None)
        if codes:
            self._kill(np.flatnonzero(np.isin(self._doc_of_row, codes) & self._alive))

    def remove_ids(self, ids: Sequence[str]) -> None:
        """Drop the given chunks (ids not in the index are ignored)."""
        rows = [self._position[chunk_id] for chunk_id in ids if chunk_id in self._position]
        self._kill(np.asarray(rows, dtype=np.int64))

    def _kill(self, rows: npt.NDArray[np.int64]) -> None:
        rows = np.unique(rows)
        rows = rows[self._alive[rows]] if len(rows) else rows
        if not len(rows):
            return
        self._alive[rows] = False
        for row in rows.tolist():
            self._position.pop(self._ids[row], None)
        self._changed()

    def _changed(self) -> None:
        self._masks = {}
        dead = len(self._ids) - len(self)
        if dead > MAX_DEAD_SHARE * max(1, len(self._ids)):
            self.compact()
        elif len(self._segments) > MAX_SEGMENTS:
            head, tail = self._segments[0], self._segments[1:]
            if sum(segment.size for segment in tail) > MAX_TAIL_SHARE * head.size:
                self.compact()
            else:  # cheap: only the small segments are rewritten, rows keep their numbers
                self._segments = [head, _merged(tail, self._alive, None, len(self._vocabulary))]

    def compact(self) -> None:
        """Merge all segments into one and drop dead rows (in memory; nothing is re-read)."""
        keep = np.flatnonzero(self._alive)
        renumber = np.full(len(self._ids), -1, dtype=np.int64)
        renumber[keep] = np.arange(len(keep))
        merged = _merged(self._segments, self._alive, renumber, len(self._vocabulary))
        self._ids = [self._ids[i] for i in keep]
        self._position = {chunk_id: i for i, chunk_id in enumerate(self._ids)}
        self._doc_of_row = self._doc_of_row[keep]
        self._lengths = self._lengths[keep]
        self._alive = np.ones(len(keep), dtype=np.bool_)
        self._segments = [merged]
        self._masks = {}

    # --- reading ----------------------------------------------------------------------------

    def scores(self, query_terms: list[str]) -> FloatArray:
        """BM25 score of every row for the query terms (zeros when nothing matches, and for dead rows).

        A repeated query term counts again, as in bm25s.
        """
        scores = np.zeros(len(self._ids), dtype=np.float32)
        live = len(self)
        if not live or not query_terms:
            return scores
        average = float(self._lengths[self._alive].sum()) / live or 1.0
        norm = self._k1 * ((1 - self._b) + self._b * self._lengths / average)
        for term in query_terms:
            term_id = self._vocabulary.get(term)
            if term_id is None:
                continue
            postings = [segment.postings(term_id) for segment in self._segments]
            alive = [self._alive[rows] for rows, _ in postings]
            df = sum(int(np.count_nonzero(mask)) for mask in alive)
            if df == 0:
                continue
            idf = math.log(1 + (live - df + 0.5) / (df + 0.5))
            for (rows, counts), mask in zip(postings, alive, strict=True):
                live_rows, live_counts = rows[mask], counts[mask]
                scores[live_rows] += idf * live_counts / (norm[live_rows] + live_counts)
        return scores

    def search(
        self, query_terms: list[str], k: int, allowed: npt.NDArray[np.bool_] | None = None
    ) -> list[ScoredId]:
        """The best ``k`` chunks with a positive score, among ``allowed`` rows if given."""
        scores = self.scores(query_terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        return top_positive(self._ids, scores, k)

    def document_of(self, chunk_id: str) -> str | None:
        """The document a chunk in the index belongs to."""
        row = self._position.get(chunk_id)
        return self._doc_names[self._doc_of_row[row]] if row is not None else None

    def mask_for(self, documents: frozenset[str]) -> npt.NDArray[np.bool_]:
        """Rows in the index whose document is in ``documents`` (cached per document set)."""
        mask = self._masks.get(documents)
        if mask is None:
            codes = np.asarray(
                [self._doc_codes[d] for d in documents if d in self._doc_codes], dtype=np.int32
            )
            mask = np.isin(self._doc_of_row, codes) & self._alive
            if len(self._masks) >= MASK_CACHE:
                with suppress(RuntimeError, StopIteration):  # several search threads may evict at once
                    self._masks.pop(next(iter(self._masks)), None)
            self._masks[documents] = mask
        return mask

    def ids_where(self, mask: npt.NDArray[np.bool_]) -> list[str]:
        """Chunk ids of the rows set in ``mask`` (e.g. a scope's visible chunks)."""
        return [self._ids[i] for i in np.flatnonzero(mask)]

    # --- persistence ------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write the index (compacted) to ``directory``: files fsynced, the manifest replaced last.

        Saves and loads of every process take a lock file in the directory, so two workers saving
        when their queues drain cannot delete each other's postings, and a loader never reads a
        manifest whose postings are being replaced.
        """
        self.compact()
        directory.mkdir(parents=True, exist_ok=True)
        segment = self._segments[0]
        name = f"postings-{uuid.uuid4().hex}.npz"
        manifest = {
            "format": 2,
            "postings": name,
            "version": self.version,
            "dictionary_version": self.dictionary_version,
            "ids": self._ids,
            "documents": [self._doc_names[code] for code in self._doc_of_row.tolist()],
            "document_versions": self.document_versions,
            "vocabulary": list(self._vocabulary),
        }
        with _directory_lock(directory, fcntl.LOCK_EX):
            _write_durably(
                directory / name,
                lambda out: np.savez(
                    out,
                    starts=segment.starts,
                    rows=segment.rows,
                    counts=segment.counts,
                    lengths=self._lengths,
                ),
            )
            _write_durably(
                directory / f"{MANIFEST}.tmp", lambda out: out.write(json.dumps(manifest).encode("utf-8"))
            )
            (directory / f"{MANIFEST}.tmp").replace(directory / MANIFEST)
            _fsync_directory(directory)
            for old in directory.glob("postings-*.npz"):
                if old.name != name:
                    old.unlink(missing_ok=True)
            shutil.rmtree(directory / "bm25", ignore_errors=True)  # the bm25s index of older releases

    def load(self, directory: Path) -> bool:
        """Load a saved index; False when there is none, or it is unreadable or of an older format."""
        if not (directory / MANIFEST).exists():
            return False
        try:
            with _directory_lock(directory, fcntl.LOCK_SH):
                manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
                if manifest.get("format") != 2:
                    return False
                with np.load(directory / manifest["postings"]) as arrays:
                    segment = _Segment(arrays["starts"], arrays["rows"], arrays["counts"])
                    lengths = arrays["lengths"].astype(np.float32)
            ids, documents = list(manifest["ids"]), list(manifest["documents"])
            vocabulary = {term: i for i, term in enumerate(manifest["vocabulary"])}
        except Exception:  # a damaged save (power loss, disk full) only costs a full read from SQL
            logger.warning(
                "the saved BM25 index in %s is unreadable; reading all terms", directory, exc_info=True
            )
            return False
        self._reset()
        self._ids, self._vocabulary = ids, vocabulary
        self._position = {chunk_id: i for i, chunk_id in enumerate(ids)}
        codes = [self._code_of(doc) for doc in documents]
        self._doc_of_row = np.asarray(codes, dtype=np.int32)
        self._alive = np.ones(len(ids), dtype=np.bool_)
        self._lengths = lengths
        self._segments = [segment]
        self.version = int(manifest["version"])
        self.dictionary_version = int(manifest.get("dictionary_version", 0))
        self.document_versions = dict(manifest.get("document_versions", {}))
        return True


@contextmanager
def _directory_lock(directory: Path, mode: int) -> Iterator[None]:
    """An advisory lock on ``directory`` shared by every process (shared for reading)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_durably(path: Path, write: Callable[[BinaryIO], object]) -> None:
    with path.open("wb") as out:
        write(out)
        out.flush()
        os.fsync(out.fileno())


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def top_positive(ids: list[str], scores: FloatArray, k: int) -> list[ScoredId]:
    """The ``k`` highest positive scores as (id, score), best first."""
    if len(ids) == 0 or k <= 0:
        return []
    k = min(k, len(ids))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [ScoredId(ids[i], float(scores[i])) for i in best if scores[i] > 0]
