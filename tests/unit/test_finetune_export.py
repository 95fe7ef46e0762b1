"""The fine-tuning export's templates: sentences without headings or clause marks, template questions
over an article with their colloquial and keyword forms, abstention questions (on the article's topic
too) and their cap, golden weighting, and the deterministic split."""

from __future__ import annotations

from typing import Any

from app.services.finetune_export import (
    DAYS_RE,
    PHRASINGS,
    Candidate,
    ExportStats,
    _Passage,
    abstain_candidates,
    cap_abstentions,
    cited,
    document_candidates,
    is_heldout,
    phrase,
    sentences,
    topic,
    usable_topic,
)
from llm.prompts import NOT_FOUND_KO

ARTICLE = """제6장 유출 사고 대응
제18조(유출 신고)
① 개인정보 유출을 알게 된 임직원은 3일 이내에 정보보안팀에 신고서를 제출하여야 한다.
② 신고한 임직원에게는 포상금 100,000원을 지급한다."""


def test_sentences_leave_out_headings_and_clause_marks() -> None:
    assert sentences(ARTICLE) == [
        "개인정보 유출을 알게 된 임직원은 3일 이내에 정보보안팀에 신고서를 제출하여야 한다.",
        "신고한 임직원에게는 포상금 100,000원을 지급한다.",
    ]


def test_an_article_gives_what_it_provides_its_amount_deadline_and_procedure() -> None:
    passage = _Passage("doc1", "개인정보 지침", "제18조(유출 신고)", True, ARTICLE)
    items = {c.question: c for c in document_candidates([passage], ("보안팀",)) if c.form == "template"}
    where = "개인정보 지침 제18조(유출 신고)"
    assert set(items) == {
        f"{where}에서는 무엇을 정하고 있나요?",
        f"{where}에서 정한 금액은 얼마인가요?",
        f"{where}에서 정한 날짜나 기한은 언제인가요?",
        f"{where}에 따른 절차는 어떻게 되나요?",
    }
    assert (
        items[f"{where}에서 정한 금액은 얼마인가요?"].answer
        == "신고한 임직원에게는 포상금 100,000원을 지급한다."
    )
    assert "3일 이내" in items[f"{where}에서 정한 날짜나 기한은 언제인가요?"].answer
    assert all(c.document_ids == ("doc1",) and c.groups == ("보안팀",) for c in items.values())


def test_abstention_asks_for_articles_that_do_not_exist_and_topics_no_chunk_mentions() -> None:
    passage = _Passage("doc1", "개인정보 지침", "제18조(유출 신고)", True, ARTICLE + "\n주차 요금은 없다.")
    items = abstain_candidates({"doc1": [passage]})
    questions = [c.question for c in items]
    assert "개인정보 지침 제25조에서는 무엇을 정하고 있나요?" in questions
    # a question on the article's own topic asking what no chunk says
    topical = [c for c in items if c.form == "topic_aspect"]
    assert topical and all(c.question.startswith("유출 신고") for c in topical)
    assert all(c.anchor == "doc1" for c in topical)  # split with its document
    assert "개인정보 지침 제49조에서는 무엇을 정하고 있나요?" in questions
    assert not any("주차" in q for q in questions)  # a visible chunk mentions parking
    assert any("헬스장" in q for q in questions)
    assert all(c.answer == NOT_FOUND_KO and c.document_ids == () for c in items)


def test_the_split_is_a_stable_share_of_anchors() -> None:
    anchors = [f"doc{i}" for i in range(2000)]
    held = [a for a in anchors if is_heldout(a, 0.1)]
    assert held == [a for a in anchors if is_heldout(a, 0.1)]
    assert 150 < len(held) < 250
    assert not any(is_heldout(a, 0.0) for a in anchors)


def test_a_reference_answer_cites_only_the_source_number_of_this_prompt() -> None:
    assert cited("연차휴가는 15일입니다 [1].", 3) == "연차휴가는 15일입니다. [3]"
    assert cited("연차휴가는 15일입니다.", 2) == "연차휴가는 15일입니다. [2]"
    assert cited("15일 [2][4] 입니다", 1) == "15일 입니다 [1]"


LEAVE = """제2조(연차휴가)
① 신입 직원의 연차휴가는 입사 첫해에 15일로 한다.
② 연차휴가는 사용 3일 전까지 인사팀에 신청하여 승인을 받아야 한다."""


def test_each_template_also_comes_in_colloquial_and_keyword_forms_on_the_articles_topic() -> None:
    passage = _Passage("doc1", "인사규정", "제2조(연차휴가)", True, LEAVE)
    assert topic(passage) == "연차휴가"
    items = document_candidates([passage], ())
    by_form: dict[str, list[str]] = {}
    for item in items:
        by_form.setdefault(item.form, []).append(item.question)
    assert len(by_form["template"]) == 4  # article, days, date, procedure
    assert "인사규정 제2조(연차휴가)에서 정한 일수는 며칠인가요?" in by_form["template"]
    assert len(by_form["colloquial"]) == 2 * 4 and len(by_form["keyword"]) == 4
    assert "연차휴가 일수" in by_form["keyword"] and "연차휴가 절차" in by_form["keyword"]
    colloquial = by_form["colloquial"]
    assert not any("제2조" in q or "인사규정" in q for q in colloquial)  # as people ask: by topic
    assert any("며칠" in q for q in colloquial) and any("어떻게" in q or "어디" in q for q in colloquial)
    answers = {item.question: item.answer for item in items}
    days = next(q for q in colloquial if "며칠" in q)
    assert answers[days] == "신입 직원의 연차휴가는 입사 첫해에 15일로 한다."
    assert all(item.document_ids == ("doc1",) and item.anchor == "doc1" for item in items)
    # the same article always gets the same forms; another article other ones
    assert [i.question for i in document_candidates([passage], ())] == [i.question for i in items]


def test_particles_follow_the_topics_last_syllable_and_days_are_not_dates() -> None:
    assert phrase("{t}{eun} 어떻게 돼요?", "연차휴가") == "연차휴가는 어떻게 돼요?"
    assert phrase("{t}{eun} 어떻게 돼요?", "경조금") == "경조금은 어떻게 돼요?"
    assert all("{t}" in frame for frames in PHRASINGS.values() for frame in frames)
    assert DAYS_RE.search("연차휴가는 15일로 한다")
    assert DAYS_RE.search("출장은 최대 10일간 허용한다")
    for text in (
        "2024년 4월 1일부터 시행한다",
        "사용 3일 전까지 신청한다",
        "7일 이내에 제출한다",
        "매월 25일까지",
        "유심 비용은 1일 1만 1천원 범위에서 지급한다",
        "1일 8시간",
        "1일당 5만원",
    ):
        assert not DAYS_RE.search(text), text


def _row(source: str, form: str, question: str) -> tuple[Candidate, dict[str, Any]]:
    item = Candidate(question, "a", source, (), question, (), form, question)  # type: ignore[arg-type]
    return item, {"q": question}


def test_abstentions_are_capped_taking_each_kind_in_turn() -> None:
    answered = [_row("document", "template", f"q{i}") for i in range(17)]
    abstain = [
        _row("abstain", kind, f"{kind}{i}") for kind in ("off_topic", "missing_article") for i in range(5)
    ]
    abstain += [_row("abstain", "topic_aspect", "t0")]
    stats = ExportStats()
    rows = cap_abstentions([*answered, *abstain], 0.15, stats)
    kept = [item for item, _line in rows if item.source == "abstain"]
    assert len(kept) == 3 and len(kept) / len(rows) <= 0.15  # 3 of 20
    assert {item.form for item in kept} == {"topic_aspect", "missing_article", "off_topic"}
    assert stats.skipped["abstain_over_cap"] == 8
    assert [item for item, _line in rows if item.source != "abstain"] == [item for item, _line in answered]
    assert cap_abstentions([*answered, *abstain], 0.15) == rows  # deterministic
    assert len(cap_abstentions([*answered, *abstain], 0.0)) == 17
    assert len(cap_abstentions(abstain[:1] + answered, 0.99)) == 18


def test_generic_or_numbered_headings_get_no_colloquial_forms() -> None:
    purpose = _Passage("doc1", "인사규정", "제1조(목적)", True, "이 규정은 근무 조건을 정함을 목적으로 한다.")
    week = _Passage("doc2", "온보딩 가이드", "2주차: 업무 이해", False, "둘째 주에는 3일 동안 업무를 배운다.")
    for passage in (purpose, week):
        assert usable_topic(passage) is None
        assert {item.form for item in document_candidates([passage], ())} == {"template"}
        topical = [
            c for c in abstain_candidates({passage.document_id: [passage]}) if c.form == "topic_aspect"
        ]
        assert topical == []
    assert usable_topic(_Passage("doc3", "출장규정", "제7조(정산 기한)", True, "x")) == "정산 기한"
    keywords = [
        c.question
        for c in document_candidates(
            [_Passage("d", "출장규정", "제7조(정산 기한)", True, "정산은 7일 이내에 한다.")], ()
        )
        if c.form == "keyword"
    ]
    assert set(keywords) == {"정산 기한"}  # not "정산 기한 기한" (the duplicate is dropped by the export)
