"""Context assembly: near-duplicates collapse, neighbours merge, the token budget holds."""

from __future__ import annotations

from retrieval.context import assemble_context, collapse_duplicates, join_overlapping, merge_neighbours
from retrieval.types import SearchHit


def hit(
    chunk_id: str,
    text: str,
    *,
    version: str = "v1",
    ordinal: int = 0,
    section: tuple[str, ...] = ("제3장 휴가",),
    article: str | None = None,
    title: str = "취업규칙",
    score: float = 1.0,
) -> SearchHit:
    return SearchHit(
        chunk_id=chunk_id,
        document_id=f"doc-{version}",
        version_id=version,
        title=title,
        display_name=f"{title}.md",
        text=text,
        section_path=list(section),
        article=article,
        page=None,
        location=None,
        ordinal=ordinal,
        score=score,
    )


LEAVE = (
    "연차휴가는 1년간 80퍼센트 이상 출근한 근로자에게 15일을 부여한다. 사용 촉진 절차는 인사팀이 안내한다."
)
TRAVEL = "국내 출장 숙박비는 1박 10만 원을 한도로 실비 정산하며 영수증을 첨부해야 한다."


def counter(text: str) -> int:
    return len(text)  # one token per character keeps the arithmetic in these tests obvious


def test_a_copied_paragraph_collapses_into_the_better_ranked_hit() -> None:
    first = hit("a", LEAVE, version="v1")
    copy = hit("b", "  " + LEAVE.replace(" ", "  ") + " ", version="v2", title="직원 안내서")
    other = hit("c", TRAVEL, version="v3")
    kept, absorbed = collapse_duplicates([first, copy, other])
    assert [h.chunk_id for h in kept] == ["a", "c"]
    assert [h.chunk_id for h in absorbed["a"]] == ["b"]
    sources = assemble_context([first, copy, other], 10_000, counter)
    assert [s.chunk_ids for s in sources] == [["a"], ["c"]]
    assert sources[0].source_fields()["duplicate_chunk_ids"] == ["b"]


def test_different_paragraphs_are_not_duplicates() -> None:
    kept, absorbed = collapse_duplicates([hit("a", LEAVE), hit("b", TRAVEL, version="v2")])
    assert len(kept) == 2
    assert absorbed == {}


def test_consecutive_chunks_of_one_passage_merge_in_document_order_with_overlap_once() -> None:
    part1 = "제12조(연차휴가) ① 1년간 80퍼센트 이상 출근한 근로자에게는 15일의 유급휴가를 준다."
    part2 = "15일의 유급휴가를 준다. ② 3년 이상 계속 근로한 근로자에게는 가산휴가를 준다."
    later = hit("b", part2, ordinal=5, article="제12조")
    earlier = hit("a", part1, ordinal=4, article="제12조")
    sources = assemble_context([later, hit("x", TRAVEL, version="v9"), earlier], 10_000, counter)
    assert [s.chunk_ids for s in sources] == [["a", "b"], ["x"]]
    merged = sources[0].text
    assert merged.count("15일의 유급휴가를 준다.") == 1
    assert merged.startswith("제12조(연차휴가) ①") and merged.endswith("가산휴가를 준다.")
    assert sources[0].best.chunk_id == "b"  # the passage ranks where its best chunk ranked
    assert sources[0].label == "취업규칙 제12조"


def test_neighbours_of_another_article_or_version_stay_apart() -> None:
    hits = [
        hit("a", LEAVE, ordinal=1, article="제12조"),
        hit("b", TRAVEL, ordinal=2, article="제13조"),
        hit("c", "병가는 연 30일까지 쓸 수 있다.", ordinal=3, version="v2", article="제13조"),
    ]
    assert [[h.chunk_id for h in p.hits] for p in merge_neighbours(hits)] == [["a"], ["b"], ["c"]]


def test_gap_in_ordinals_keeps_chunks_separate() -> None:
    passages = merge_neighbours([hit("a", LEAVE, ordinal=1), hit("b", TRAVEL, ordinal=3)])
    assert len(passages) == 2


def test_join_without_overlap_puts_a_line_break_between() -> None:
    assert join_overlapping("첫 문단입니다.", "둘째 문단입니다.") == "첫 문단입니다.\n둘째 문단입니다."


def test_budget_keeps_the_best_sources_and_cuts_the_last() -> None:
    hits = [hit(str(i), f"{i}번 규정 " + "가" * 200, version=f"v{i}") for i in range(5)]
    sources = assemble_context(hits, budget_tokens=600, count_tokens=counter, overhead_tokens=16)
    assert [s.number for s in sources] == [1, 2, 3]
    used = sum(counter(s.text) + 16 for s in sources)
    assert used <= 600
    assert sources[-1].truncated and not sources[0].truncated
    assert sources[-1].text.startswith("2번 규정")


def test_an_oversized_passage_shrinks_around_its_best_chunk() -> None:
    hits = [
        hit("a", "가" * 100, ordinal=0),
        hit("b", "나" * 100, ordinal=1, score=2.0),
        hit("c", "다" * 100, ordinal=2),
    ]
    ranked = [hits[1], hits[0], hits[2]]
    sources = assemble_context(ranked, budget_tokens=230, count_tokens=counter, overhead_tokens=10)
    assert len(sources) == 1
    assert "b" in sources[0].chunk_ids
    assert len(sources[0].chunk_ids) == 2
    assert sources[0].truncated


def test_nothing_fits_a_tiny_budget() -> None:
    assert assemble_context([hit("a", LEAVE)], budget_tokens=20, count_tokens=counter) == []


def test_no_hits_no_sources() -> None:
    assert assemble_context([], 1000) == []
