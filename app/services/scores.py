"""Retrieval scores as a caller may see them.

BM25's statistics (document frequencies, average length) are computed over every document, hidden ones
included, so a raw score — and even the ratio of two visible documents' scores — changes when a
document the caller cannot see is added. Admins (who see every document) get the raw scores; everyone
else gets rank scores: ``1 / (1 + r)``, where ``r`` is how many of the caller's own visible results
score strictly higher (1.0 for the best, 0.5 for the second, …; 0 stays 0, so "this leg did not
find it" still reads as 0). The order itself can still move when hidden documents change the
statistics: that ranking side channel remains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def rank_scores(values: Sequence[float]) -> list[float]:
    """Each positive value's rank score among ``values`` (ties share the better rank); 0 for the rest."""
    return [1.0 / (1 + sum(1 for other in values if other > value)) if value > 0 else 0.0 for value in values]


def position_scores(count: int) -> list[float]:
    """Rank scores of ``count`` results already in best-first order."""
    return [1.0 / (1 + position) for position in range(count)]


def ranked_fields(items: Sequence[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    """``items`` with each named score field replaced by its rank score among ``items``."""
    ranked = [dict(item) for item in items]
    for name in names:
        for item, score in zip(ranked, rank_scores([float(i.get(name) or 0.0) for i in items]), strict=True):
            if name in item:
                item[name] = score
    return ranked
