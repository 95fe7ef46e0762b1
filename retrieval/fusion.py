"""Weighted fusion of the lexical and dense legs."""

from __future__ import annotations

from dataclasses import dataclass

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


def weighted_fusion(
    lexical: list[ScoredId], dense: list[ScoredId], lexical_weight: float, dense_weight: float
) -> list[FusedScore]:
    """Combine the legs: BM25 scaled by its best score, cosine scaled to the candidates' range.

    Unlike equal-weight reciprocal-rank fusion, a weak leg with a small weight can only reorder
    near-ties of the strong one instead of pulling its noise to the top.
    """
    lexical_norm = _max_normalise(lexical)
    dense_norm = _range_normalise(dense)
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
