from __future__ import annotations

import pytest

from retrieval.tokenizer import KiwiTokenizer, TermAwareTokenizer, UserTerm, WhitespaceTokenizer


@pytest.fixture(scope="module")
def kiwi() -> KiwiTokenizer:
    return KiwiTokenizer()


def test_particles_and_endings_are_dropped_and_compounds_split(kiwi: KiwiTokenizer) -> None:
    terms = kiwi.tokenize("연차휴가는 며칠인가요?")
    assert "연차" in terms
    assert "휴가" in terms
    assert "는" not in terms
    assert "인가요" not in terms


def test_verb_and_adjective_stems_are_kept(kiwi: KiwiTokenizer) -> None:
    # BM25's terms: a predicate's stem counts ("쓰려면" ~ "쓴다", "길면" ~ "길다").
    assert {"쓰", "만들", "규정"} <= set(kiwi.tokenize("규정을 쓰고 새로 만들었다"))
    assert "길" in kiwi.tokenize("회의가 길면 쉰다")


def test_english_and_numbers_are_kept(kiwi: KiwiTokenizer) -> None:
    terms = kiwi.tokenize("VPN 접속은 2025년부터 OTP가 필요합니다")
    assert {"vpn", "2025", "otp", "접속"} <= set(terms)


def test_long_nouns_add_syllable_bigrams(kiwi: KiwiTokenizer) -> None:
    terms = kiwi.tokenize("숙박비 정산")
    assert "숙박" in terms or "숙박비" in terms
    assert any(term in terms for term in ("숙박", "박비"))


def test_company_terms_stay_whole(kiwi: KiwiTokenizer) -> None:
    before = kiwi.tokenize("도큐플로우포털 접속")
    kiwi.add_terms(["도큐플로우포털"])
    after = kiwi.tokenize("도큐플로우포털 접속")
    assert "도큐플로우포털" in after
    assert before != after or "도큐플로우포털" in before


def test_batch_and_single_tokenization_agree(kiwi: KiwiTokenizer) -> None:
    texts = ["연차휴가는 15일이다.", "출장 숙박비 한도", "Employee handbook"]
    assert list(kiwi.tokenize_many(texts)) == [kiwi.tokenize(t) for t in texts]


def test_whitespace_baseline() -> None:
    assert WhitespaceTokenizer().tokenize("연차휴가는 며칠") == ["연차휴가는", "며칠"]


def test_dictionary_terms_can_be_replaced_and_removed() -> None:
    tokenizer = KiwiTokenizer(terms=["한빛클라우드"])
    sentence = "도큐플로우포털 접속 방법은 아래와 같다."
    assert "도큐플로우포털" not in tokenizer.tokenize(sentence)
    assert tokenizer.set_terms([UserTerm("도큐플로우포털")])
    assert "도큐플로우포털" in tokenizer.tokenize(sentence)
    assert not tokenizer.set_terms([UserTerm("도큐플로우포털")])  # unchanged: nothing to do
    assert tokenizer.set_terms([])  # removal: a fresh analyser without the term
    assert "도큐플로우포털" not in tokenizer.tokenize(sentence)
    assert tokenizer.terms == frozenset()
    assert "한빛클라우드" in tokenizer.tokenize("한빛클라우드 요금제")  # constructor terms survive


def test_kiwi_takes_the_company_dictionary_and_whitespace_does_not() -> None:
    assert isinstance(KiwiTokenizer.__new__(KiwiTokenizer), TermAwareTokenizer)
    assert not isinstance(WhitespaceTokenizer(), TermAwareTokenizer)
