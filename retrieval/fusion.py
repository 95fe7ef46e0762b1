"""Weighted fusion of the lexical and dense legs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Literal

from retrieval.lexical import ScoredId


@dataclass(slots=True)
class FusedScore:
    """A candidate's fused score and the normalised score from each leg."""

    chunk_id: str
    score: float
    lexical: float = 0.0
    dense: float = 0.0


def _max_normalise(hits: list[ScoredId]) -> dict[str, float]:
    top = max((hit.score for hit in hits), default=0.0)
    return {hit.chunk_id: hit.score / top for hit in hits} if top > 0 else {}


def _range_normalise(hits: list[ScoredId]) -> dict[str, float]:
    if not hits:
        return {}
    low = min(hit.score for hit in hits)
    high = max(hit.score for hit in hits)
    span = high - low
    return {hit.chunk_id: (hit.score - low) / span if span > 0 else 1.0 for hit in hits}


FOUND = 1e-3
"""What a leg's worst candidate scores above a candidate the leg did not return (a tie-break only):
every returned chunk keeps a positive score, and a leg's 0 still means "not found by this leg"."""


def _z_normalise(hits: list[ScoredId]) -> dict[str, float]:
    """Standard scores of a leg's candidates, shifted so its worst candidate scores :data:`FOUND`
    (a candidate the leg did not return scores 0: no better than its worst)."""
    if len(hits) < 2:
        return {hit.chunk_id: 1.0 for hit in hits}
    values = [hit.score for hit in hits]
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values) or 1.0
    floor = (min(values) - mean) / spread
    return {hit.chunk_id: (hit.score - mean) / spread - floor + FOUND for hit in hits}


Normalisation = Literal["zscore", "max"]
"""How each leg's scores are put on one scale before weighting (see :func:`weighted_fusion`)."""


def weighted_fusion(
    lexical: list[ScoredId],
    dense: list[ScoredId],
    lexical_weight: float,
    dense_weight: float,
    normalisation: Normalisation = "zscore",
) -> list[FusedScore]:
    """Combine the legs' candidates by a weighted sum of normalised scores, best first.

    ``zscore``: each leg's scores as standard scores over its own candidates, shifted so the leg's
    worst candidate scores just above a candidate the leg did not return (0); a leg whose best stands
    far above the rest (a confident BM25 match, a clear nearest passage) weighs more than one of
    near-ties. ``max``: BM25 scaled by
    its best score, cosine scaled to the candidates' range. With the Korean e5 dense leg, ``zscore``
    raised R@1 on all three Korean sets (bench/README.md). Unlike equal-weight reciprocal-rank fusion,
    a weak leg with a small weight only reorders near-ties of the strong one.
    """
    if normalisation == "zscore":
        lexical_norm, dense_norm = _z_normalise(lexical), _z_normalise(dense)
    else:
        lexical_norm, dense_norm = _max_normalise(lexical), _range_normalise(dense)
    fused = {
        chunk_id: FusedScore(
            chunk_id=chunk_id,
            score=lexical_weight * lexical_norm.get(chunk_id, 0.0)
            + dense_weight * dense_norm.get(chunk_id, 0.0),
            lexical=lexical_norm.get(chunk_id, 0.0),
            dense=dense_norm.get(chunk_id, 0.0),
        )
        for chunk_id in {*lexical_norm, *dense_norm}
    }
    return sorted(fused.values(), key=lambda item: (-item.score, item.chunk_id))
