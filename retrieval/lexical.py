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
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

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


def _live(rows: IntArray, counts: FloatArray, alive: npt.NDArray[np.bool_]) -> tuple[IntArray, FloatArray]:
    mask = alive[rows]
    return rows[mask], counts[mask]


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
    """One segment with the live postings of ``segments`` (rows renumbered when ``renumber`` is given).

    Each term's postings are placed after those of the same term in earlier segments, block by block,
    so the memory needed beyond the result is a few blocks' worth (the snapshot of a million chunks has
    tens of millions of postings: sorting them all at once took several GB).
    """
    live = np.zeros(vocabulary, dtype=np.int64)
    for segment in segments:
        for terms, _ in _live_blocks(segment, alive):
            live += np.bincount(terms, minlength=vocabulary)
    starts = np.zeros(vocabulary + 1, dtype=np.int64)
    np.cumsum(live, out=starts[1:])
    rows, counts = np.empty(starts[-1], dtype=np.int32), np.empty(starts[-1], dtype=np.float32)
    cursor = starts[:-1].copy()  # where each term's next posting goes
    for segment in segments:
        for terms, where in _live_blocks(segment, alive):
            first = np.flatnonzero(np.diff(terms, prepend=-1))  # terms ascend within a block
            runs = np.diff(first, append=len(terms))
            target = cursor[terms] + np.arange(len(terms)) - np.repeat(first, runs)
            kept_rows = segment.rows[where]
            rows[target] = renumber[kept_rows] if renumber is not None else kept_rows
            counts[target] = segment.counts[where]
            cursor[terms[first]] += runs
    return _Segment(starts, rows, counts)


MERGE_BLOCK = 1 << 22  # postings per block of a merge


def _live_blocks(
    segment: _Segment, alive: npt.NDArray[np.bool_]
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """(term, position) of a segment's live postings, a block of positions at a time, in order."""
    for begin in range(0, segment.size, MERGE_BLOCK):
        block = segment.rows[begin : begin + MERGE_BLOCK]
        where = np.flatnonzero(alive[block]) + begin
        yield np.searchsorted(segment.starts, where, side="right") - 1, where


class _Keys:
    """An append-only sequence of strings with lookup by string (chunk ids, or BM25 terms).

    The strings known when a snapshot was saved are held frozen as numpy arrays: the UTF-8 bytes sorted
    (for lookups), the place of each, and the rank of each place (memory-mapped from the snapshot, so
    the processes of one host share one copy in the page cache). Those appended since are a Python list
    and dict. A key appended again is found at its last place. Keys never end in a NUL character.
    """

    def __init__(
        self,
        ordered: npt.NDArray[np.bytes_] | None = None,
        places: IntArray | None = None,
        ranks: IntArray | None = None,
    ) -> None:
        self._sorted = ordered if ordered is not None else np.zeros(0, dtype="S1")
        self._places = places if places is not None else np.zeros(0, dtype=np.int32)
        self._ranks = ranks if ranks is not None else np.zeros(0, dtype=np.int32)
        self._added: list[str] = []
        self._where: dict[str, int] = {}

    @classmethod
    def of(cls, keys: Sequence[str]) -> _Keys:
        """The keys (distinct) held frozen, at places 0, 1, 2 …"""
        if not keys:
            return cls()
        return cls.frozen_from(np.array([key.encode("utf-8") for key in keys], dtype=np.bytes_))

    @classmethod
    def frozen_from(cls, keys: npt.NDArray[np.bytes_]) -> _Keys:
        """Distinct keys in place order, held frozen."""
        places = np.argsort(keys, kind="stable").astype(np.int32)
        ranks = np.empty(len(keys), dtype=np.int32)
        ranks[places] = np.arange(len(keys), dtype=np.int32)
        return cls(keys[places], places, ranks)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._added)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def get(self, key: str) -> int | None:
        """The last place of ``key``, or None."""
        place = self._where.get(key)
        if place is not None or not len(self._sorted):
            return place
        encoded = key.encode("utf-8")
        if len(encoded) > self._sorted.itemsize:
            return None
        slot = int(np.searchsorted(self._sorted, encoded))
        if slot < len(self._sorted) and self._sorted[slot] == encoded:
            return int(self._places[slot])
        return None

    def find(self, keys: Sequence[str]) -> npt.NDArray[np.int64]:
        """The last place of each key (-1 where absent)."""
        places = np.full(len(keys), -1, dtype=np.int64)
        if len(self._sorted) and keys:
            encoded = [key.encode("utf-8") for key in keys]
            fits = np.fromiter((len(e) <= self._sorted.itemsize for e in encoded), np.bool_, len(encoded))
            wanted = np.array(encoded, dtype=self._sorted.dtype)  # longer ones are cut, then masked out
            slots = np.minimum(np.searchsorted(self._sorted, wanted), len(self._sorted) - 1)
            hit = fits & (self._sorted[slots] == wanted)
            places[hit] = self._places[slots[hit]]
        if self._where:
            for i, key in enumerate(keys):
                place = self._where.get(key)
                if place is not None:
                    places[i] = place
        return places

    def append(self, keys: Sequence[str]) -> None:
        """Add keys at the end (places ``len(self)`` on)."""
        first = len(self)
        self._added.extend(keys)
        self._where.update((key, first + i) for i, key in enumerate(keys))

    def places_of(self, keys: Sequence[str]) -> npt.NDArray[np.int64]:
        """The place of each key, appending those absent (a vocabulary's term ids)."""
        places = self.find(keys)
        missing = np.flatnonzero(places < 0).tolist()
        if missing:
            new = list(dict.fromkeys(keys[i] for i in missing))
            first = len(self)
            self.append(new)
            at = {key: first + j for j, key in enumerate(new)}
            places[missing] = [at[keys[i]] for i in missing]
        return places

    def at(self, places: Sequence[int] | npt.NDArray[np.integer]) -> list[str]:
        """The keys at the given places."""
        places = np.asarray(places, dtype=np.int64)
        cut = len(self._sorted)
        if not self._added:
            return [key.decode("utf-8") for key in self._sorted[self._ranks[places]].tolist()]
        keys = np.empty(len(places), dtype=object)
        frozen = places < cut
        keys[frozen] = [key.decode("utf-8") for key in self._sorted[self._ranks[places[frozen]]].tolist()]
        keys[~frozen] = [self._added[place - cut] for place in places[~frozen].tolist()]
        return list(keys)

    def copy(self) -> _Keys:
        """An independent copy (the frozen arrays, never written, are shared)."""
        twin = _Keys(self._sorted, self._places, self._ranks)
        twin._added, twin._where = list(self._added), dict(self._where)
        return twin

    def subset(self, places: npt.NDArray[np.int64]) -> _Keys:
        """The keys at ``places`` (distinct), frozen at places 0, 1, 2 …"""
        if self._added:
            return _Keys.of(self.at(places))
        return _Keys.frozen_from(self._sorted[self._ranks[places]])

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The frozen arrays of all keys (what a snapshot saves)."""
        whole = self if not self._added else _Keys.of(self.at(np.arange(len(self))))
        return {"sorted": whole._sorted, "places": whole._places, "ranks": whole._ranks}


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
        self._ids = _Keys()  # by row
        self._doc_codes: dict[str, int] = {}
        self._doc_names: list[str] = []  # by code
        self._doc_of_row = np.zeros(0, dtype=np.int32)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._lengths = np.zeros(0, dtype=np.float32)
        self._vocabulary = _Keys()  # term ids
        self._segments: list[_Segment] = []
        self._masks: dict[frozenset[str], npt.NDArray[np.bool_]] = {}
        self._norm: FloatArray | None = None  # BM25 length normalisation per row, until a change

    def __len__(self) -> int:
        return int(np.count_nonzero(self._alive))

    @property
    def params(self) -> tuple[float, float]:
        """The BM25 parameters (k1, b)."""
        return self._k1, self._b

    @property
    def ids(self) -> list[str]:
        """Ids of the chunks in the index."""
        return self._ids.at(np.flatnonzero(self._alive))

    def copy(self) -> LexicalIndex:
        """An independent index with the same content (segments, which never change, are shared).

        Changes are made to a copy and then published, so searches never see one half-made. Arrays
        are never written in place once made (a snapshot's are memory-mapped read-only), except
        ``_alive``, which each copy has its own of.
        """
        twin = LexicalIndex(self._k1, self._b)
        twin.version, twin.dictionary_version = self.version, self.dictionary_version
        twin.document_versions = dict(self.document_versions)
        twin._ids, twin._doc_names = self._ids.copy(), list(self._doc_names)
        twin._doc_codes = dict(self._doc_codes)
        twin._doc_of_row, twin._lengths = self._doc_of_row, self._lengths
        twin._alive = self._alive.copy()
        twin._vocabulary = self._vocabulary.copy()
        twin._segments = list(self._segments)
        twin._norm = self._norm
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
        self.remove_ids(ids)
        first = len(self._ids)
        batch: dict[str, int] = {}  # the batch's terms, numbered locally, then looked up at once
        local = [batch.setdefault(term, len(batch)) for terms in tokens for term in terms]
        term_ids = self._vocabulary.places_of(list(batch))
        flat = term_ids[np.asarray(local, dtype=np.int64)]
        lengths = np.fromiter((len(terms) for terms in tokens), dtype=np.int64, count=len(tokens))
        rows = np.repeat(np.arange(first, first + len(ids), dtype=np.int64), lengths)
        self._segments.append(_segment(flat, rows, len(self._vocabulary)))
        codes = [self._code_of(doc) for doc in documents]
        self._ids.append(ids)
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
        self._kill(self._live_rows(ids))

    def _live_rows(self, ids: Sequence[str]) -> npt.NDArray[np.int64]:
        rows = self._ids.find(ids)
        rows = rows[rows >= 0]
        return rows[self._alive[rows]]

    def _kill(self, rows: npt.NDArray[np.int64]) -> None:
        rows = np.unique(rows)
        rows = rows[self._alive[rows]] if len(rows) else rows
        if not len(rows):
            return
        self._alive[rows] = False
        self._changed()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Many :meth:`add` calls in a row (a full read from SQL in batches): segments are merged once,
        at the end, instead of whenever they pile up."""
        self._in_bulk = True
        try:
            yield
        finally:
            self._in_bulk = False
            self._changed()

    def _changed(self) -> None:
        self._masks = {}
        self._norm = None
        if getattr(self, "_in_bulk", False):
            return
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
        """Merge all segments into one and drop dead rows (in memory; nothing is re-read).

        An index of one segment without dead rows (a loaded snapshot) is left as it is.
        """
        if len(self._segments) == 1 and len(self) == len(self._ids):
            return
        keep = np.flatnonzero(self._alive)
        renumber = np.full(len(self._ids), -1, dtype=np.int64)
        renumber[keep] = np.arange(len(keep))
        merged = _merged(self._segments, self._alive, renumber, len(self._vocabulary))
        self._ids = self._ids.subset(keep)
        self._doc_of_row = self._doc_of_row[keep]
        self._lengths = self._lengths[keep]
        self._alive = np.ones(len(keep), dtype=np.bool_)
        self._segments = [merged]
        self._masks = {}
        self._norm = None

    # --- reading ----------------------------------------------------------------------------

    def _normalisation(self, live: int) -> FloatArray:
        """k1 · (1 − b + b · length / average length) per row, kept until the index changes."""
        norm = self._norm
        if norm is None:
            total = float(self._lengths.sum() if live == len(self._ids) else self._lengths[self._alive].sum())
            average = total / live or 1.0
            norm = (self._k1 * ((1 - self._b) + self._b * self._lengths / average)).astype(np.float32)
            self._norm = norm
        return norm

    def scores(self, query_terms: list[str]) -> FloatArray:
        """BM25 score of every row for the query terms (zeros when nothing matches, and for dead rows).

        A repeated query term counts again, as in bm25s.
        """
        scores = np.zeros(len(self._ids), dtype=np.float32)
        live = len(self)
        if not live or not query_terms:
            return scores
        norm = self._normalisation(live)
        everyone = live == len(self._ids)
        term_ids = self._vocabulary.find(query_terms)
        for term_id in term_ids.tolist():
            if term_id < 0:
                continue
            postings = [segment.postings(term_id) for segment in self._segments]
            if not everyone:
                postings = [_live(rows, counts, self._alive) for rows, counts in postings]
            df = sum(len(rows) for rows, _ in postings)
            if df == 0:
                continue
            idf = math.log(1 + (live - df + 0.5) / (df + 0.5))
            for rows, counts in postings:
                scores[rows] += idf * counts / (norm[rows] + counts)
        return scores

    def search(
        self, query_terms: list[str], k: int, allowed: npt.NDArray[np.bool_] | None = None
    ) -> list[ScoredId]:
        """The best ``k`` chunks with a positive score, among ``allowed`` rows if given."""
        scores = self.scores(query_terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        best = top_rows(scores, k)
        return [
            ScoredId(chunk_id, float(scores[row]))
            for chunk_id, row in zip(self._ids.at(best), best, strict=True)
        ]

    def row_of(self, chunk_id: str) -> int | None:
        """The row holding ``chunk_id`` in :meth:`scores`, or None when it is not in the index."""
        row = self._ids.get(chunk_id)
        return row if row is not None and self._alive[row] else None

    def document_of(self, chunk_id: str) -> str | None:
        """The document a chunk in the index belongs to."""
        row = self.row_of(chunk_id)
        return self._doc_names[self._doc_of_row[row]] if row is not None else None

    def documents_of(self, chunk_ids: Sequence[str]) -> list[str | None]:
        """:meth:`document_of` for many chunks at once."""
        rows = self._ids.find(chunk_ids)
        known = rows >= 0
        known[known] = self._alive[rows[known]]
        codes = np.full(len(rows), -1, dtype=np.int64)
        codes[known] = self._doc_of_row[rows[known]]
        return [self._doc_names[code] if code >= 0 else None for code in codes.tolist()]

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
        return self._ids.at(np.flatnonzero(mask))

    # --- persistence ------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write the index (compacted) to ``directory``: files fsynced, the manifest replaced last.

        A snapshot is a folder of ``.npy`` files (postings, lengths, documents and the sorted chunk ids
        and terms), each one's size and CRC-32 in the manifest, so :meth:`load` can map them read-only
        and the processes of one host share their pages. Saves and loads of every process take a lock
        file in the directory, so two workers saving when their queues drain cannot delete each other's
        snapshot, and a loader never reads a manifest whose files are being replaced. A process that
        still maps a replaced snapshot keeps reading it (an unlinked file lives while it is mapped).
        """
        self.compact()
        if not self._segments:
            self._segments = [_from_sorted(np.zeros(0, dtype=np.int64), _NO_ROWS, _NO_COUNTS, 0)]
        segment = self._segments[0]
        used, doc_of_row = np.unique(self._doc_of_row, return_inverse=True)  # documents still held
        ids, terms = self._ids.arrays(), self._vocabulary.arrays()
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "starts": _padded(segment.starts, len(self._vocabulary) + 1),
            "rows": segment.rows,
            "counts": segment.counts,
            "lengths": self._lengths,
            "doc_of_row": doc_of_row.astype(np.int32),
            **{f"ids_{key}": array for key, array in ids.items()},
            **{f"terms_{key}": array for key, array in terms.items()},
        }
        name = f"snapshot-{uuid.uuid4().hex}"
        directory.mkdir(parents=True, exist_ok=True)
        with _directory_lock(directory, fcntl.LOCK_EX):
            folder = directory / name
            folder.mkdir()
            files = {key: _save_array(folder / f"{key}.npy", array) for key, array in arrays.items()}
            _fsync_directory(folder)
            manifest = {
                "format": FORMAT,
                "snapshot": name,
                "files": files,
                "rows": len(self._ids),
                "version": self.version,
                "dictionary_version": self.dictionary_version,
                "documents": [self._doc_names[code] for code in used.tolist()],
                "document_versions": self.document_versions,
            }
            _write_durably(
                directory / f"{MANIFEST}.tmp", lambda out: out.write(json.dumps(manifest).encode("utf-8"))
            )
            (directory / f"{MANIFEST}.tmp").replace(directory / MANIFEST)
            _fsync_directory(directory)
            for old in [*directory.glob("snapshot-*"), *directory.glob("postings-*.npz")]:
                if old.name != name:
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
            shutil.rmtree(directory / "bm25", ignore_errors=True)  # the bm25s index of older releases

    @staticmethod
    def saved_versions(directory: Path) -> tuple[int, int] | None:
        """The index and dictionary versions of the snapshot saved in ``directory`` (None: none readable)."""
        try:
            manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT:
                return None
            return int(manifest["version"]), int(manifest.get("dictionary_version", 0))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def load(self, directory: Path) -> bool:
        """Load a saved index, its arrays memory-mapped read-only; False when there is none, or it is
        unreadable (a file short, changed or missing: checked by size and CRC-32 before mapping) or of an
        older format.
        """
        if not (directory / MANIFEST).exists():
            return False
        try:
            with _directory_lock(directory, fcntl.LOCK_SH):
                manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
                if manifest.get("format") != FORMAT:
                    return False
                folder = directory / manifest["snapshot"]
                arrays: dict[str, Any] = {
                    key: _open_array(folder / f"{key}.npy", spec) for key, spec in manifest["files"].items()
                }
            documents = [str(doc) for doc in manifest["documents"]]
            _check_snapshot(arrays, int(manifest["rows"]), len(documents))
        except Exception:  # a damaged save (power loss, disk full) only costs a full read from SQL
            logger.warning(
                "the saved BM25 index in %s is unreadable; reading all terms", directory, exc_info=True
            )
            return False
        self._reset()
        self._ids = _Keys(arrays["ids_sorted"], arrays["ids_places"], arrays["ids_ranks"])
        self._vocabulary = _Keys(arrays["terms_sorted"], arrays["terms_places"], arrays["terms_ranks"])
        self._doc_names = documents
        self._doc_codes = {doc: code for code, doc in enumerate(documents)}
        self._doc_of_row = arrays["doc_of_row"]
        self._alive = np.ones(int(manifest["rows"]), dtype=np.bool_)
        self._lengths = arrays["lengths"]
        self._segments = [_Segment(arrays["starts"], arrays["rows"], arrays["counts"])]
        self.version = int(manifest["version"])
        self.dictionary_version = int(manifest.get("dictionary_version", 0))
        self.document_versions = dict(manifest.get("document_versions", {}))
        return True


FORMAT = 3  # 2: one .npz of postings and the ids in the manifest (read whole, not mapped)
_DTYPES = {
    "starts": "int64",
    "rows": "int32",
    "counts": "float32",
    "lengths": "float32",
    "doc_of_row": "int32",
    "ids_places": "int32",
    "ids_ranks": "int32",
    "terms_places": "int32",
    "terms_ranks": "int32",
}
_CRC_BLOCK = 1 << 22


def _padded(starts: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.int64]:
    """Segment starts for a vocabulary of ``size - 1`` terms (terms added after it have no rows)."""
    if len(starts) >= size:
        return starts
    return np.concatenate([starts, np.full(size - len(starts), starts[-1] if len(starts) else 0)])


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as handle:
        while block := handle.read(_CRC_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc


def _save_array(path: Path, array: npt.NDArray[np.generic]) -> dict[str, int]:
    """Write one array as ``.npy``, fsynced; its size and CRC-32 (for the manifest)."""
    _write_durably(path, lambda out: np.save(out, np.ascontiguousarray(array), allow_pickle=False))
    return {"bytes": path.stat().st_size, "crc32": _crc32(path)}


def _open_array(path: Path, spec: dict[str, int]) -> npt.NDArray[np.generic]:
    """One saved array, mapped read-only, after checking its size and CRC-32 against the manifest."""
    if path.stat().st_size != int(spec["bytes"]) or _crc32(path) != int(spec["crc32"]):
        msg = f"{path.name} is not the file the manifest describes"
        raise ValueError(msg)
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    return array if array.size else np.load(path, allow_pickle=False)


def _check_snapshot(arrays: dict[str, npt.NDArray[np.generic]], rows: int, documents: int) -> None:
    """Raise ValueError unless the arrays fit together as one snapshot of ``rows`` rows."""
    keys = set(_DTYPES) | {"ids_sorted", "terms_sorted"}
    if set(arrays) != keys or any(a.ndim != 1 for a in arrays.values()):
        raise ValueError("a snapshot's arrays are missing or of the wrong shape")
    for key, dtype in _DTYPES.items():
        if arrays[key].dtype != np.dtype(dtype):
            raise ValueError(f"{key} is {arrays[key].dtype}, not {dtype}")
    if arrays["ids_sorted"].dtype.kind != "S" or arrays["terms_sorted"].dtype.kind != "S":
        raise ValueError("ids and terms are not bytes")
    starts, terms = arrays["starts"], len(arrays["terms_sorted"])
    sizes = {len(arrays[k]) for k in ("lengths", "doc_of_row", "ids_sorted", "ids_places", "ids_ranks")}
    if (
        sizes != {rows}
        or len(arrays["terms_places"]) != terms
        or len(arrays["terms_ranks"]) != terms
        or len(starts) != terms + 1
        or starts[0] != 0
        or len(arrays["rows"]) != starts[-1]
        or len(arrays["counts"]) != starts[-1]
        or (rows and int(arrays["doc_of_row"].max()) >= documents)
    ):
        raise ValueError("a snapshot's arrays do not fit together")


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


def top_rows(scores: FloatArray, k: int) -> list[int]:
    """Rows of the ``k`` highest positive scores, best first.

    Only the rows with a positive score are ranked: a query's terms touch a fraction of a million
    rows, and partitioning all of them cost as much as scoring.
    """
    if len(scores) == 0 or k <= 0:
        return []
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        rows = rows[np.argpartition(-scores[rows], k - 1)[:k]]
    return rows[np.argsort(-scores[rows], kind="stable")].tolist()


def top_positive(ids: Sequence[str], scores: FloatArray, k: int) -> list[ScoredId]:
    """The ``k`` highest positive scores as (id, score), best first."""
    return [ScoredId(ids[row], float(scores[row])) for row in top_rows(scores, k)]
