"""Hybrid search: Kiwi-BM25 and dense candidates, fused with weights, filtered by permission.

Permissions are applied inside each leg before its top-n cut, so an invisible chunk is never a
candidate, never shifts a normalisation and never takes a place a visible chunk should have:

- lexical: BM25 scores of rows outside the caller's visible documents are zeroed (a cached
  boolean mask per document set) before the top-n;
- dense: Chroma's metadata ``where`` filter costs about 100 ms at 100k vectors (however few
  documents match) and 0.7-0.8 s at 1M on a Chroma server, against 3-4 ms for an unfiltered top-50
  (15 ms for a top-1000 at 1M), so it is avoided. A caller who sees
  at most ``dense_exact_max`` chunks is searched exactly over their visible chunks' vectors,
  cached per access scope (:mod:`retrieval.scope_vectors`). A caller who sees more, a fraction f
  of the chunks, gets Chroma's unfiltered top ``n × dense_overfetch / f`` with the invisible
  chunks dropped before anything is scored (about ``n × dense_overfetch`` remain when visibility
  does not depend on the query). Chroma's filter is left for scopes too large to cache whose
  over-fetch would exceed ``dense_max_fetch``, and for the rare query where both legs together
  found fewer than ``k`` visible candidates (so a caller with narrow access still gets ``k``).
  Admins search unfiltered.

SQL then loads the best candidates, keeping chunks of current versions of visible documents (a
second check), and an optional reranker reorders them.
"""

from __future__ import annotations

import json
import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import Row

from core.question_types import answer_nouns
from core.settings import RetrievalSettings
from retrieval import chunk_store
from retrieval.fusion import FusedScore, weighted_fusion
from retrieval.index import SearchIndex
from retrieval.lexical import LexicalIndex, ScoredId
from retrieval.rerank import Reranker
from retrieval.scope_vectors import ScopeVectors
from retrieval.types import AccessScope, SearchHit, Vectors

VISIBLE_CACHE = 256
LOAD_SLACK = 4
EMBED_WORKERS = 2

DenseRoute = Literal["exact", "overfetch", "filter"]


class HybridSearcher:
    """Answers queries from a :class:`SearchIndex`; never returns what the scope may not see."""

    def __init__(
        self, index: SearchIndex, settings: RetrievalSettings, reranker: Reranker | None = None
    ) -> None:
        self.index = index
        self.settings = settings
        self.reranker = reranker
        self._visible_cache: dict[tuple[int, int, AccessScope], frozenset[str]] = {}
        # A lambda, not the bound method: tests and repairs may swap ``index.vectors``.
        self._scope_vectors = ScopeVectors(
            lambda ids: self.index.vectors.get_vectors(ids),  # noqa: PLW0108
            max_vectors=settings.dense_cache_vectors,
        )
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def search(self, query: str, scope: AccessScope, k: int | None = None) -> list[SearchHit]:
        """The best ``k`` chunks for ``query`` that ``scope`` may see, best first."""
        k = k or self.settings.top_k
        query = query.strip()
        if not query:
            return []
        # The query embedding (the slowest step) runs in a worker thread while this one refreshes,
        # resolves permissions and runs Kiwi and BM25; onnxruntime and torch release the GIL.
        pool = self._embed_pool()
        vector = (
            pool.submit(self.index.embedder.embed_query, self.dense_text(query)) if self._dense_on else None
        )
        self.index.refresh()
        allowed = None if scope.sees_everything else self.visible_documents(scope)
        if allowed is not None and not allowed:
            return []
        fused = self._candidates(query, allowed, k, vector)
        depth = max(k, self.settings.rerank_candidates) if self.reranker else k
        hits = self._load(fused, allowed, depth)
        if self.reranker is not None and len(hits) > 1:
            hits = self._rerank(query, hits)
        return hits[:k]

    def dense_text(self, query: str) -> str:
        """The text the dense leg embeds for ``query``: with ``answer_nouns`` on, the nouns naming
        what it asks for are appended (며칠 → 일수), since no passage contains the interrogative.

        Only the dense leg: in BM25 the added noun is a term of its own, which lost as often as it
        won on the dev set (bench/README.md).
        """
        if not self.settings.answer_nouns:
            return query
        nouns = answer_nouns(query)
        return f"{query} {' '.join(nouns)}" if nouns else query

    def visible_documents(self, scope: AccessScope) -> frozenset[str]:
        """Ids of the documents ``scope`` may see (cached until documents or permissions change)."""
        key = (self.index.lexical.version, self.index.acl_version, scope)
        cached = self._visible_cache.get(key)
        if cached is None:
            with self.index.sessions() as session:
                cached = chunk_store.visible_document_ids(session, scope)
            if len(self._visible_cache) >= VISIBLE_CACHE:
                self._visible_cache.pop(next(iter(self._visible_cache)))
            self._visible_cache[key] = cached
        return cached

    @property
    def _dense_on(self) -> bool:
        return self.settings.dense_weight > 0

    def _embed_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(EMBED_WORKERS, thread_name_prefix="jikji-query-embed")
        return self._pool

    def _candidates(
        self, query: str, allowed: frozenset[str] | None, k: int, pending: Future[Vectors] | None
    ) -> list[FusedScore]:
        """Candidates from both legs, each restricted to ``allowed`` documents before its top-n cut."""
        lexical_index = self.index.lexical
        terms = self.index.tokenizer.tokenize(query)
        mask = lexical_index.mask_for(allowed) if allowed is not None else None
        lexical = lexical_index.search(terms, self.settings.candidates, allowed=mask)
        dense: list[ScoredId] = []
        if pending is not None:
            vector = pending.result()
            dense = self._dense(lexical_index, vector, self.settings.dense_candidates, allowed, mask)
            if allowed is not None and len({h.chunk_id for h in (*lexical, *dense)}) < k:
                # Both legs together found fewer than k: make sure the caller still gets k (rare).
                dense = self.index.vectors.query(vector, max(self.settings.dense_candidates, k), allowed)
        return weighted_fusion(
            lexical, dense, self.settings.lexical_weight, self.settings.dense_weight, self.settings.fusion
        )

    def _dense(
        self,
        lexical_index: LexicalIndex,
        vector: Vectors,
        n: int,
        allowed: frozenset[str] | None,
        mask: npt.NDArray[np.bool_] | None,
    ) -> list[ScoredId]:
        """Dense candidates among ``allowed`` documents, by the cheapest exact-enough route.

        ``lexical_index`` is the one ``mask`` was made from (the index may be replaced meanwhile).
        """
        vectors = self.index.vectors
        if allowed is None or mask is None:
            return vectors.query(vector, n)
        visible = int(np.count_nonzero(mask))
        if visible == 0:
            return []
        route, fetch = self.dense_route(visible, len(lexical_index), n)  # live rows
        if route == "exact":
            return self._scope_vectors.search(
                allowed, lexical_index.version, lambda: lexical_index.ids_where(mask), vector, n
            )
        if route == "overfetch":
            hits = vectors.query(vector, fetch)
            return [h for h in hits if lexical_index.document_of(h.chunk_id) in allowed][:n]
        return vectors.query(vector, n, documents=allowed)

    def dense_route(self, visible: int, total: int, n: int) -> tuple[DenseRoute, int]:
        """:func:`dense_route` with this searcher's settings."""
        return dense_route(self.settings, visible, total, n)

    def _load(self, fused: list[FusedScore], allowed: frozenset[str] | None, depth: int) -> list[SearchHit]:
        """Hits for the best ``depth`` candidates that are current and visible (checked again in SQL)."""
        hits: list[SearchHit] = []
        start, size = 0, depth + LOAD_SLACK
        while start < len(fused) and len(hits) < depth:
            part = fused[start : start + size]
            with self.index.sessions() as session:
                rows = chunk_store.load_current_chunk_rows(session, [f.chunk_id for f in part], allowed)
            hits += [_hit(rows[f.chunk_id], f) for f in part if f.chunk_id in rows]
            start, size = start + size, size * 2
        return hits

    def _rerank(self, query: str, hits: list[SearchHit]) -> list[SearchHit]:
        """The hits reordered by the reranker's score (ties keep the fused order)."""
        assert self.reranker is not None
        scores = self.reranker.score(query, [hit.text for hit in hits])
        for hit, score in zip(hits, scores, strict=True):
            hit.rerank_score = score
        order = sorted(range(len(hits)), key=lambda i: -scores[i])
        return [hits[i] for i in order]


def dense_route(settings: RetrievalSettings, visible: int, total: int, n: int) -> tuple[DenseRoute, int]:
    """How the dense leg finds ``n`` candidates for a caller who sees ``visible`` of ``total`` chunks, and
    how many vectors it asks Chroma for: ``exact`` (the caller's cached vectors, at most
    ``dense_exact_max``), ``overfetch`` (Chroma's unfiltered top ``n × dense_overfetch / f``, at most
    ``dense_max_fetch``) or ``filter`` (Chroma's metadata filter, top ``n``)."""
    if visible <= settings.dense_exact_max:
        return "exact", visible
    fetch = math.ceil(n * settings.dense_overfetch * total / visible)
    if fetch <= settings.dense_max_fetch:
        return "overfetch", fetch
    return "filter", n


def _hit(row: Row[Any], fused: FusedScore) -> SearchHit:
    return SearchHit(
        chunk_id=row.chunk_id,
        document_id=row.document_id,
        version_id=row.version_id,
        title=row.title,
        display_name=row.display_name,
        text=row.text,
        section_path=json.loads(row.section_path) if row.section_path else [],
        article=row.article,
        page=row.page,
        location=row.location,
        ordinal=row.ordinal,
        score=fused.score,
        lexical_score=fused.lexical,
        dense_score=fused.dense,
    )
