"""The cluster checks' verdict on what each store holds (tests/support/cluster.py)."""

from __future__ import annotations

from tests.support.cluster import StoreIds


def test_stores_holding_the_same_ids_once_agree() -> None:
    assert StoreIds(sql=["a", "b"], chroma=["b", "a"], bm25=["a", "b"]).problems() == []


def test_a_chunk_stored_twice_or_missing_or_unknown_is_reported() -> None:
    problems = StoreIds(sql=["a", "b"], chroma=["a", "b", "b"], bm25=["a", "c"]).problems()
    assert problems == [
        "chroma: 1 chunk ids stored more than once",
        "bm25: 1 chunks missing, 1 not in SQL",
    ]
