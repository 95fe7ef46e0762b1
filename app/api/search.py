"""``POST /api/v1/search``: hybrid search over the documents the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import DbDep, SearcherDep, SearchPrincipal
from app.services.audit import audit_text, record_event, record_usage
from app.services.scores import position_scores, ranked_fields

router = APIRouter(prefix="/api/v1", tags=["search"])


class SearchRequest(BaseModel):
    """A search query."""

    query: str = Field(min_length=1, max_length=2000, description="What to look for (Korean or English).")
    k: int = Field(default=6, ge=1, le=50, description="How many chunks to return.")
    document_ids: list[str] | None = Field(
        default=None,
        max_length=200,
        description="Search only these documents. A filter can only narrow what the caller may see: "
        "ids of documents the caller may not see simply match nothing.",
    )


class SearchResult(BaseModel):
    """One retrieved chunk with its source."""

    chunk_id: str
    document_id: str
    version_id: str
    title: str
    file_name: str
    label: str = Field(description="How to cite it, e.g. `취업규칙 제12조 ②`.")
    article: str | None
    page: int | None
    location: str | None
    section: str
    text: str
    score: float = Field(
        description="Admins: the fused score. Everyone else: a rank score, 1/(1+rank) among the caller's "
        "results (raw scores carry statistics of documents the caller cannot see)."
    )
    lexical_score: float = Field(
        description="The BM25 leg's score (a rank score for non-admins; 0: not found)."
    )
    dense_score: float = Field(
        description="The dense leg's score (a rank score for non-admins; 0: not found)."
    )


class SearchResponse(BaseModel):
    """Search results, best first."""

    query: str
    results: list[SearchResult]


@router.post("/search", response_model=SearchResponse)
def search(
    body: SearchRequest, searcher: SearcherDep, principal: SearchPrincipal, db: DbDep
) -> dict[str, Any]:
    """Search the caller's documents with Kiwi-BM25 + dense fusion."""
    only = frozenset(body.document_ids) if body.document_ids is not None else None
    hits = searcher.search(body.query, principal.access_scope().narrowed_to(only), k=body.k)
    record_event(db, principal, "search", detail={"query": audit_text(body.query), "results": len(hits)})
    record_usage(db, principal, "search")
    results = [
        {
            **h.source_fields(),
            "text": h.text,
            "score": h.score,
            "lexical_score": h.lexical_score,
            "dense_score": h.dense_score,
        }
        for h in hits
    ]
    if not principal.sees_all_documents:  # raw BM25 scores depend on documents the caller cannot see
        results = ranked_fields(results, "lexical_score", "dense_score")
        for result, score in zip(results, position_scores(len(results)), strict=True):
            result["score"] = score
    return {"query": body.query, "results": results}
