"""Exact dense search over a small scope's cached vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.scope_vectors import ScopeVectors
from retrieval.types import Vectors


def unit(*values: float) -> Vectors:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


STORE = {"a": unit(1, 0, 0), "b": unit(0, 1, 0), "c": unit(1, 1, 0), "d": unit(0, 0, 1)}


class Reader:
    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def __call__(self, ids: Sequence[str]) -> tuple[list[str], Vectors]:
        self.asked.append(list(ids))
        found = [i for i in ids if i in STORE]
        return found, np.stack([STORE[i] for i in found]) if found else np.zeros((0, 3), np.float32)


def test_nearest_visible_chunks_by_cosine() -> None:
    reader = Reader()
    cache = ScopeVectors(reader)
    hits = cache.search(frozenset({"doc1"}), 1, lambda: ["a", "b", "c"], unit(1, 0.1, 0), 2)
    assert [h.chunk_id for h in hits] == ["a", "c"]
    assert hits[0].score > hits[1].score
    assert "d" not in {h.chunk_id for h in cache.search(frozenset({"doc1"}), 1, list, unit(0, 0, 1), 3)}


def test_vectors_are_read_once_and_only_new_chunks_after_the_index_moves() -> None:
    reader = Reader()
    cache = ScopeVectors(reader)
    key = frozenset({"doc1"})
    cache.search(key, 1, lambda: ["a", "b"], unit(1, 0, 0), 1)
    cache.search(key, 1, lambda: ["a", "b"], unit(0, 1, 0), 1)
    assert reader.asked == [["a", "b"]]
    hits = cache.search(key, 2, lambda: ["b", "c"], unit(1, 0, 0), 5)  # a left the scope, c joined
    assert reader.asked == [["a", "b"], ["c"]]
    assert {h.chunk_id for h in hits} == {"b", "c"}


def test_least_recently_used_scopes_are_dropped() -> None:
    reader = Reader()
    cache = ScopeVectors(reader, max_vectors=1)
    cache.search(frozenset({"x"}), 1, lambda: ["a"], unit(1, 0, 0), 1)
    cache.search(frozenset({"y"}), 1, lambda: ["b"], unit(1, 0, 0), 1)
    cache.search(frozenset({"x"}), 1, lambda: ["a"], unit(1, 0, 0), 1)
    assert reader.asked == [["a"], ["b"], ["a"]]


def test_an_empty_scope_finds_nothing() -> None:
    assert ScopeVectors(Reader()).search(frozenset(), 1, list, unit(1, 0, 0), 3) == []
