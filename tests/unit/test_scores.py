"""Rank scores: what non-admins see instead of raw retrieval scores."""

from __future__ import annotations

from app.services.scores import position_scores, rank_scores, ranked_fields


def test_rank_scores_keep_order_ties_and_zeros() -> None:
    assert rank_scores([0.2, 3.5, 0.2, 0.0]) == [0.5, 1.0, 0.5, 0.0]
    assert rank_scores([]) == []
    assert position_scores(3) == [1.0, 0.5, 1 / 3]


def test_ranked_fields_replace_only_the_named_scores() -> None:
    items = [{"id": "a", "score": 0.1, "other": 7}, {"id": "b", "score": 0.9, "other": 8}]
    assert ranked_fields(items, "score") == [
        {"id": "a", "score": 0.5, "other": 7},
        {"id": "b", "score": 1.0, "other": 8},
    ]
    assert items[0]["score"] == 0.1  # the input is left alone
