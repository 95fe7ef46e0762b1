"""Paraphrase matching in the extractive composer: Kiwi's noun similarity credits a question word that no
offered sentence holds (llm/paraphrase.py), with the real Kiwi model and with a fake for the arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm.evidence import coverage, unmatched_terms
from llm.extractive import SourceText, answers_question, compose_extractive, rank_evidence
from llm.paraphrase import PARAPHRASE_MIN_SIMILARITY, PARAPHRASE_SHARE, NounSimilarity, ParaphraseMatch
from retrieval.tokenizer import KiwiTokenizer, UserTerm


class TableSimilarity:
    """Nouns looked up in a table of words; similarities from a table of pairs."""

    def __init__(self, ids: dict[str, int], pairs: dict[tuple[int, int], float]) -> None:
        self.ids = ids
        self.pairs = pairs

    def noun_ids(self, text: str) -> tuple[int, ...]:
        return tuple(number for word, number in self.ids.items() if word in text)

    def noun_similarity(self, first: int, second: int) -> float:
        if first == second:
            return 1.0
        return self.pairs.get((first, second), self.pairs.get((second, first), 0.0))

    def is_content_word(self, word: str) -> bool:
        return True


@pytest.fixture(scope="module")
def kiwi() -> KiwiTokenizer:
    return KiwiTokenizer()


def test_only_unmatched_terms_get_credit_and_only_above_the_threshold() -> None:
    fake = TableSimilarity(
        {"친척": 1, "친지": 2, "가족": 3}, {(1, 2): 0.8, (1, 3): PARAPHRASE_MIN_SIMILARITY - 0.01}
    )
    match = ParaphraseMatch(fake, frozenset({"친척"}))
    assert match.share("친척", "친지의 집에 머문 경우") == pytest.approx(PARAPHRASE_SHARE * 0.8)
    assert match.share("친척", "가족과 함께") == 0.0  # under the least similarity
    assert match.share("숙박비", "친지의 집") == 0.0  # not an unmatched term
    assert match.share("친척", "1박당 3만원") == 0.0  # the sentence has no noun
    assert ParaphraseMatch.of(fake, set()) is None
    assert ParaphraseMatch.of(None, {"친척"}) is None


def test_coverage_adds_the_paraphrase_credit_to_what_letters_match() -> None:
    fake = TableSimilarity({"친척": 1, "친지": 2}, {(1, 2): 0.8})
    terms = ["친척", "숙박비"]
    sentence = "친지의 집 등에 머물러 숙박비를 사용하지 아니한 경우"
    plain = coverage(terms, sentence)
    soft = coverage(terms, sentence, paraphrase=ParaphraseMatch(fake, frozenset({"친척"})))
    assert plain == pytest.approx(3 / 5)  # 숙박비 (weight 3) of 친척 + 숙박비 (2 + 3)
    assert soft == pytest.approx((3 + 2 * PARAPHRASE_SHARE * 0.8) / 5)


def test_unmatched_terms_are_those_no_sentence_holds() -> None:
    sentences = ["숙박비는 실비로 정산한다.", "친지의 집 등에 머물러 숙박비를 사용하지 아니한 경우"]
    assert unmatched_terms(["친척", "숙박비", "연차휴가"], sentences) == {"친척", "연차휴가"}
    # a compound whose halves a word holds is matched (연차휴가 ~ 연차유급휴가를)
    assert unmatched_terms(["연차휴가"], ["15일의 연차유급휴가를 준다."]) == set()


OFFERED = json.loads(
    (Path(__file__).parents[1] / "data" / "paraphrase_offered.json").read_text(encoding="utf-8")
)
"""Four paraphrased questions with the sources the chat service offered them (bench.evidence's cache of the
answer set and the constitution set, e5 retrieval): their answers share few words with the question."""
CARS = [
    SourceText(
        1,
        "취업규칙 제18조(시차출퇴근제)",
        "제18조(시차출퇴근제) ① 직원은 오전 8시부터 오전 10시까지 사이에서 30분 단위로 출근 시각을 선택할 수 "
        "있으며, 퇴근 시각은 출근 시각으로부터 9시간이 지난 때로 한다.",
    ),
    SourceText(
        2,
        "차량운행규정 제6조(사용 제한)",
        "제6조(사용 제한) ① 업무용 차량은 출퇴근, 개인 용무에 사용할 수 없다.",
    ),
]
CASES = [
    *[
        (
            case["question"],
            [SourceText(n, label, text) for n, label, text in case["sources"]],
            case["answers"][0],
        )
        for case in OFFERED
    ],
    ("회사 차로 출퇴근해도 되나요?", CARS, "업무용 차량은 출퇴근"),
]


@pytest.mark.parametrize(("question", "sources", "answer"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_a_paraphrased_question_finds_its_sentence_with_kiwi_and_not_without(
    kiwi: KiwiTokenizer, question: str, sources: list[SourceText], answer: str
) -> None:
    assert isinstance(kiwi, NounSimilarity)
    without = rank_evidence(question, sources)
    with_kiwi = rank_evidence(question, sources, similarity=kiwi)
    assert not without or answer not in without[0].sentence  # without Kiwi: another sentence, or none
    assert answer in with_kiwi[0].sentence
    composed = compose_extractive(question, sources, kiwi)
    assert answer in composed.quoted[0].sentence


def test_the_not_found_gate_is_not_loosened_by_paraphrases(kiwi: KiwiTokenizer) -> None:
    # No sentence shares a word with the question: paraphrase credit does not open the gate.
    sources = [SourceText(1, "복리후생", "경조사에는 회사가 화환을 보낸다.")]
    assert rank_evidence("친척 결혼식 축의금 지원", sources, similarity=kiwi) == []


def test_kiwi_nouns_leave_out_unknown_words_and_a_dictionary_change_forgets_them(kiwi: KiwiTokenizer) -> None:
    nouns = kiwi.noun_ids("쀍뛟 시스템에서 팀장에게 결재")
    assert len(nouns) == 3  # 시스템, 팀장, 결재; the unknown word is not a noun with an embedding
    (holiday,) = kiwi.noun_ids("휴가")
    (day_off,) = kiwi.noun_ids("휴일")
    assert kiwi.noun_similarity(holiday, holiday) == 1.0
    kiwi.clear_noun_cache()
    assert kiwi.noun_ids("휴가") == (holiday,)  # analysed afresh, same id
    assert PARAPHRASE_MIN_SIMILARITY < kiwi.noun_similarity(holiday, day_off) < 1.0
    fresh = KiwiTokenizer()
    fresh.noun_ids("젠아크 시스템")
    assert fresh.set_terms({UserTerm("젠아크")})
    (term, system) = fresh.noun_ids("젠아크 시스템")  # analysed again: the company term is one noun now
    assert fresh.noun_similarity(term, system) == 0.0  # a company term has no embedding


def test_the_gate_weighs_content_words_and_a_fifth_of_the_words_is_not_enough(kiwi: KiwiTokenizer) -> None:
    # A paraphrased question's predicates (지켜야, 한다고) are in no source; its content words are.
    question = "군대는 정치에 대해 어떤 태도를 지켜야 한다고 되어 있나요?"
    clause = "②국군은 국토방위의 신성한 의무를 수행함을 사명으로 하며, 그 정치적 중립성은 준수된다."
    assert not answers_question(question, [clause])  # 1 of 5 terms, 3 syllables of 18
    assert answers_question(question, [clause], kiwi)  # 정치 of 군대, 정치, 태도
    # One word in five of a question about something the sources lack (요트 회원권) no longer answers it.
    assert not answers_question("요트 회원 양도 절차 비용은?", ["회원 가입은 자유롭다."], kiwi)
    assert answers_question("요트 회원 양도 절차 비용은?", ["요트 회원 양도는 절차에 따른다."], kiwi)


def test_kiwi_tells_content_words_from_predicates(kiwi: KiwiTokenizer) -> None:
    assert [kiwi.is_content_word(w) for w in ("주권", "DocuFlow", "2025", "쀍뛟")] == [True] * 4
    assert [kiwi.is_content_word(w) for w in ("가진", "나와", "있어요", "지켜야", "누구라고")] == [False] * 5
