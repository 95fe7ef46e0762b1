"""Exact dense search over the chunks of a small access scope, from vectors cached per scope.

Chroma's metadata filter costs about 100 ms at 100k vectors however few documents match, and
over-fetching unfiltered neighbours costs more the less a caller sees (Chroma's top-300 takes
about 3 ms; a caller who sees 1 % would need thousands). A caller whose visible chunks are few
enough is served here instead: their vectors are read from Chroma once (about 36 ms per 1,000),
kept, and scored exactly with one matrix-vector product (under a millisecond for 10,000 chunks).
When the index moves on, an entry keeps the vectors of chunks still visible and reads only the
new ones.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.lexical import ScoredId
from retrieval.types import Vectors

VectorReader = Callable[[Sequence[str]], tuple[list[str], Vectors]]


@dataclass(frozen=True, slots=True)
class _Entry:
    version: int
    ids: list[str]
    matrix: Vectors


class ScopeVectors:
    """An LRU of (visible chunk ids → their vectors), one entry per visible document set, holding
    at most ``max_vectors`` vectors in all (about 1.5 KB each at 384 dimensions)."""

    def __init__(self, read: VectorReader, max_vectors: int = 100_000) -> None:
        self._read = read
        self._max_vectors = max_vectors
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
        # einsum, not `@`: a matrix-vector product through OpenBLAS wakes its thread pool, whose
        # spinning threads made this 10x slower (and everything after it slower) on two busy cores.
        scores = np.einsum("ij,j->i", entry.matrix, vector.astype(np.float32))
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
            while len(self._entries) > 1 and self._size() > self._max_vectors:
                self._entries.popitem(last=False)
        return fresh

    def _size(self) -> int:
        return sum(len(entry.ids) for entry in self._entries.values())

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
