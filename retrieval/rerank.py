"""Optional second-stage reranking of the fused candidates (a cross-encoder reads query and passage).

Off by default: no cross-encoder ships with Jikji, and on two CPU cores one costs tens of
milliseconds per candidate. Set ``retrieval.reranker_model`` to a sentence-transformers
CrossEncoder name or local path (e.g. ``BAAI/bge-reranker-v2-m3``) to turn it on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from core.settings import RetrievalSettings

logger = logging.getLogger(__name__)


class Reranker(Protocol):
    """Scores (query, passage) pairs; higher is more relevant. Only the order of scores matters."""

    name: str

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One relevance score per passage, in the order given."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` loaded offline from a name or a local path."""

    def __init__(self, model: str, device: str = "cpu", max_length: int = 512, batch_size: int = 16) -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:  # pragma: no cover - sentence-transformers is a dependency
            msg = "The reranker needs sentence-transformers (pip install sentence-transformers)."
            raise RuntimeError(msg) from exc
        self.name = model
        self._batch_size = batch_size
        self._model = CrossEncoder(model, device=device, max_length=max_length, local_files_only=True)

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """Cross-encoder logits of each (query, passage) pair."""
        if not passages:
            return []
        pairs = [(query, passage) for passage in passages]
        scores = self._model.predict(pairs, batch_size=self._batch_size, show_progress_bar=False)
        return [float(s) for s in scores]


class TermOverlapReranker:
    """A dependency-free stand-in: the share of the query's words found in the passage.

    For tests and offline demos of the reranking path; it is not a quality model.
    """

    name = "term-overlap"

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """Fraction of distinct lower-cased query words that occur in each passage."""
        words = {word for word in query.lower().split() if word}
        if not words:
            return [0.0] * len(passages)
        return [sum(1 for w in words if w in passage.lower()) / len(words) for passage in passages]


def build_reranker(settings: RetrievalSettings, device: str = "cpu") -> Reranker | None:
    """The configured reranker, or None when reranking is off (the default)."""
    model = (settings.reranker_model or "").strip()
    if not model:
        return None
    if model == TermOverlapReranker.name:
        return TermOverlapReranker()
    logger.info("loading cross-encoder reranker %s", model)
    return CrossEncoderReranker(model, device=device, max_length=settings.reranker_max_length)
