"""Jikji's hybrid search as a LangChain ``BaseRetriever``, for LangChain applications."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.search import HybridSearcher
from retrieval.types import AccessScope, SearchHit


class JikjiRetriever(BaseRetriever):
    """Permission-aware hybrid retrieval; each result is a LangChain ``Document`` with its source."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    scope: AccessScope = AccessScope()
    k: int = 6

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,  # noqa: ARG002
    ) -> list[Document]:
        hits = self.searcher.search(query, self.scope, k=self.k)
        return [
            Document(
                page_content=hit.text,
                id=hit.chunk_id,
                metadata=_metadata(hit),
            )
            for hit in hits
        ]


def _metadata(hit: SearchHit) -> dict[str, Any]:
    return {**hit.source_fields(), "score": hit.score}
