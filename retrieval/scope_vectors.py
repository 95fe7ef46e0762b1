"""Exact dense search over the chunks of a small access scope, from vectors cached per scope.

A caller who sees only a sliver of the corpus cannot be served by over-fetching Chroma's
unfiltered neighbours (too few of them are visible) and Chroma's metadata filter costs about
100 ms at 100k vectors however few documents match. Their visible chunks are few, though, so
their vectors are read from Chroma once, kept here, and scored exactly (one matrix-vector product,
well under a millisecond for thousands of chunks). When the index moves on, an entry keeps the
vectors of chunks that are still visible and reads only the new ones.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.embedder import Vectors
from retrieval.lexical import ScoredId

VectorReader = Callable[[Sequence[str]], tuple[list[str], Vectors]]


@dataclass(frozen=True, slots=True)
class _Entry:
    version: int
    ids: list[str]
    matrix: Vectors


class ScopeVectors:
    """A small LRU of (visible chunk ids → their vectors), one entry per visible document set."""

    def __init__(self, read: VectorReader, max_entries: int = 8) -> None:
        self._read = read
        self._max_entries = max_entries
        self._entries: OrderedDict[frozenset[str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def search(
        self, key: frozenset[str], version: int, chunk_ids: Callable[[], list[str]], vector: Vectors, n: int
    ) -> list[ScoredId]:
        """The ``n`` visible chunks nearest to ``vector`` by cosine (vectors are unit length).

        ``chunk_ids`` lists the scope's visible chunks; it is called only when the entry for
        ``key`` is missing or older than ``version``.
        """
        entry = self._entry(key, version, chunk_ids)
        if not entry.ids or n <= 0:
            return []
        scores = entry.matrix @ vector.astype(np.float32)
        n = min(n, len(entry.ids))
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return [ScoredId(entry.ids[i], float(scores[i])) for i in best]

    def _entry(self, key: frozenset[str], version: int, chunk_ids: Callable[[], list[str]]) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.version == version:
                self._entries.move_to_end(key)
                return entry
        fresh = self._refill(entry, version, chunk_ids())
        with self._lock:
            self._entries[key] = fresh
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return fresh

    def _refill(self, old: _Entry | None, version: int, ids: list[str]) -> _Entry:
        """An entry for ``ids`` reusing ``old``'s rows where the chunk is unchanged."""
        known = {chunk_id: row for row, chunk_id in enumerate(old.ids)} if old is not None else {}
        missing = [chunk_id for chunk_id in ids if chunk_id not in known]
        read_ids, read_matrix = self._read(missing) if missing else ([], np.zeros((0, 0), np.float32))
        kept = [chunk_id for chunk_id in ids if chunk_id in known]
        parts = []
        if kept and old is not None:
            parts.append(old.matrix[[known[chunk_id] for chunk_id in kept]])
        if read_ids:
            parts.append(read_matrix)
        matrix = np.vstack(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)
        return _Entry(version, kept + list(read_ids), matrix)
