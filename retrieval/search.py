"""Hybrid search: Kiwi-BM25 and dense candidates, fused with weights, filtered by permission."""

from __future__ import annotations

import json

from core.models import Chunk, Document
from core.settings import RetrievalSettings
from retrieval import chunk_store
from retrieval.embedder import Vectors
from retrieval.fusion import FusedScore, weighted_fusion
from retrieval.index import SearchIndex
from retrieval.lexical import ScoredId
from retrieval.types import AccessScope, SearchHit

OVERFETCH = 8
VISIBLE_CACHE = 256


class HybridSearcher:
    """Answers queries from a :class:`SearchIndex`; never returns what the scope may not see."""

    def __init__(self, index: SearchIndex, settings: RetrievalSettings) -> None:
        self.index = index
        self.settings = settings
        self._visible_cache: dict[tuple[int, int, AccessScope], frozenset[str]] = {}

    def search(self, query: str, scope: AccessScope, k: int | None = None) -> list[SearchHit]:
        """The best ``k`` chunks for ``query`` that ``scope`` may see, best first."""
        k = k or self.settings.top_k
        query = query.strip()
        if not query:
            return []
        self.index.refresh()
        allowed = None if scope.is_admin else self._visible_documents(scope)
        if allowed is not None and not allowed:
            return []
        fused = self._candidates(query, allowed)
        with self.index.sessions() as session:
            visible = chunk_store.load_current_chunks(session, [f.chunk_id for f in fused], scope)
        hits = [_hit(visible[f.chunk_id], f) for f in fused if f.chunk_id in visible]
        return hits[:k]

    def _visible_documents(self, scope: AccessScope) -> frozenset[str]:
        key = (self.index.lexical.version, self.index.acl_version, scope)
        cached = self._visible_cache.get(key)
        if cached is None:
            with self.index.sessions() as session:
                cached = chunk_store.visible_document_ids(session, scope)
            if len(self._visible_cache) >= VISIBLE_CACHE:
                self._visible_cache.pop(next(iter(self._visible_cache)))
            self._visible_cache[key] = cached
        return cached

    def _candidates(self, query: str, allowed: frozenset[str] | None) -> list[FusedScore]:
        """Candidates from both legs, each restricted to ``allowed`` documents before its top-n cut."""
        n = self.settings.candidates
        lexical_index = self.index.lexical
        terms = self.index.tokenizer.tokenize(query)
        mask = lexical_index.mask_for(allowed) if allowed is not None else None
        lexical = lexical_index.search(terms, n, allowed=mask)
        dense: list[ScoredId] = []
        if self.settings.dense_weight > 0:
            dense = self._dense(self.index.embedder.embed_query(query), n, allowed)
        return weighted_fusion(lexical, dense, self.settings.lexical_weight, self.settings.dense_weight)

    def _dense(self, vector: Vectors, n: int, allowed: frozenset[str] | None) -> list[ScoredId]:
        """Dense candidates; permission-filtered by over-fetching unfiltered, then Chroma's ``where``."""
        vectors, lexical_index = self.index.vectors, self.index.lexical
        if allowed is None:
            return vectors.query(vector, n)
        fetch = n * OVERFETCH
        hits = vectors.query(vector, fetch)
        kept = [h for h in hits if lexical_index.document_of(h.chunk_id) in allowed]
        if len(kept) >= n or len(hits) < fetch:
            return kept[:n]
        return vectors.query(vector, n, documents=allowed)


def _hit(row: tuple[Chunk, Document], fused: FusedScore) -> SearchHit:
    chunk, document = row
    return SearchHit(
        chunk_id=chunk.id,
        document_id=document.id,
        version_id=chunk.version_id,
        title=document.title,
        display_name=document.display_name,
        text=chunk.text,
        section_path=json.loads(chunk.section_path) if chunk.section_path else [],
        article=chunk.article,
        page=chunk.page,
        location=chunk.location,
        ordinal=chunk.ordinal,
        score=fused.score,
        lexical_score=fused.lexical,
        dense_score=fused.dense,
    )
