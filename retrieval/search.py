"""Hybrid search: Kiwi-BM25 and dense candidates, fused with weights, filtered by permission."""

from __future__ import annotations

import json

from core.models import Chunk, Document
from core.settings import RetrievalSettings
from retrieval import chunk_store
from retrieval.fusion import FusedScore, weighted_fusion
from retrieval.index import SearchIndex
from retrieval.types import AccessScope, SearchHit


class HybridSearcher:
    """Answers queries from a :class:`SearchIndex`; never returns what the scope may not see."""

    def __init__(self, index: SearchIndex, settings: RetrievalSettings) -> None:
        self.index = index
        self.settings = settings

    def search(self, query: str, scope: AccessScope, k: int | None = None) -> list[SearchHit]:
        """The best ``k`` chunks for ``query`` that ``scope`` may see, best first."""
        k = k or self.settings.top_k
        query = query.strip()
        if not query:
            return []
        self.index.refresh()
        fused = self._candidates(query)
        with self.index.sessions() as session:
            visible = chunk_store.load_current_chunks(session, [f.chunk_id for f in fused], scope)
        hits = [_hit(visible[f.chunk_id], f) for f in fused if f.chunk_id in visible]
        return hits[:k]

    def _candidates(self, query: str) -> list[FusedScore]:
        n = self.settings.candidates
        terms = self.index.tokenizer.tokenize(query)
        lexical = self.index.lexical.search(terms, n)
        dense = []
        if self.settings.dense_weight > 0:
            dense = self.index.vectors.query(self.index.embedder.embed_query(query), n)
        return weighted_fusion(lexical, dense, self.settings.lexical_weight, self.settings.dense_weight)


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
