"""The fine-tuning export's templates: sentences without headings or clause marks, template questions
over an article, abstention questions, and the deterministic split."""

from __future__ import annotations

from app.services.finetune_export import (
    _Passage,
    abstain_candidates,
    cited,
    document_candidates,
    is_heldout,
    sentences,
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
    items = {c.question: c for c in document_candidates([passage], ("보안팀",))}
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
