from __future__ import annotations

from core.db import IN_LIST_BATCH, in_batches


def test_ids_are_cut_into_bounded_in_lists_in_order() -> None:
    ids = [f"id-{n}" for n in range(2 * IN_LIST_BATCH + 5)]
    batches = in_batches(ids)
    assert [len(b) for b in batches] == [IN_LIST_BATCH, IN_LIST_BATCH, 5]
    assert [i for b in batches for i in b] == ids
    assert in_batches([]) == []
    assert in_batches(["a", "b", "c"], size=2) == [["a", "b"], ["c"]]
