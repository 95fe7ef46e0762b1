"""The optional reranker: behind a small protocol, fed only visible chunks, off by default."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from app.container import Container
from core.settings import RetrievalSettings
from ingest.pipeline import IngestRequest
from retrieval.rerank import TermOverlapReranker, build_reranker
from retrieval.search import HybridSearcher
from retrieval.types import AccessScope

pytestmark = pytest.mark.integration


class PrefersMarker:
    """A fake cross-encoder: passages containing 정답 score highest; it records what it read."""

    name = "fake"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        self.seen += passages
        return [1.0 if "정답" in p else 0.0 for p in passages]


def ingest(container: Container, name: str, text: str, public: bool = True) -> str:
    request = IngestRequest(data=text.encode(), filename=name, source_key=name, is_public=public)
    return container.pipeline.ingest(request).document_id


def test_the_reranker_reorders_visible_candidates_only(container: Container) -> None:
    for i in range(3):
        ingest(container, f"출장-{i}.md", f"# 출장 {i}\n\n출장비 정산 출장비 정산 출장비 정산 안내 {i}")
    answer = ingest(container, "답.md", "# 기타\n\n출장비 정산은 월말까지 한다. 정답")
    ingest(container, "비밀.md", "# 비밀\n\n출장비 정산 정답 CANARY", public=False)
    reranker = PrefersMarker()
    settings = RetrievalSettings(top_k=2, rerank_candidates=10)
    searcher = HybridSearcher(container.index, settings, reranker=reranker)
    plain = HybridSearcher(container.index, settings).search("출장비 정산", AccessScope(), k=2)
    assert answer not in {hit.document_id for hit in plain}
    hits = searcher.search("출장비 정산", AccessScope(), k=2)
    assert hits[0].document_id == answer
    assert hits[0].rerank_score == 1.0
    assert len(hits) == 2
    assert reranker.seen and all("CANARY" not in text for text in reranker.seen)


def test_reranking_is_off_unless_a_model_is_configured() -> None:
    assert build_reranker(RetrievalSettings()) is None
    assert isinstance(build_reranker(RetrievalSettings(reranker_model="term-overlap")), TermOverlapReranker)


def test_a_missing_cross_encoder_fails_loudly(tmp_path) -> None:
    with pytest.raises((OSError, ValueError, RuntimeError)):
        build_reranker(RetrievalSettings(reranker_model=str(tmp_path / "no-such-model")))


def test_term_overlap_scores_shared_words() -> None:
    scores = TermOverlapReranker().score("출장비 정산 기한", ["출장비 정산 기한은 월말", "연차 휴가"])
    assert scores[0] == 1.0 and scores[1] == 0.0


def test_a_cross_encoder_loads_from_a_local_path_and_scores_pairs() -> None:
    # No cross-encoder ships with Jikji; the bundled MiniLM encoder with a fresh one-logit head is
    # enough to exercise loading and scoring (its scores mean nothing).
    from retrieval.embedder import resolve_model_path
    from retrieval.rerank import CrossEncoderReranker

    path = resolve_model_path("bundled:all-MiniLM-L6-v2")
    reranker = build_reranker(RetrievalSettings(reranker_model=path, reranker_max_length=128))
    assert isinstance(reranker, CrossEncoderReranker)
    scores = reranker.score("연차 며칠?", ["연차휴가는 15일이다.", "출장비 정산 기한"])
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    assert reranker.score("질문", []) == []
