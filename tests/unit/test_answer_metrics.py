"""KorQuAD-style answer normalisation, exact match and character F1."""

from __future__ import annotations

import unicodedata

import pytest

from llm.answer_metrics import (
    best_char_f1,
    best_exact_match,
    char_f1,
    contains_answer,
    exact_match,
    normalize_answer,
    strip_citations,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  15일 ", "15일"),
        ("“2만 원”", "2만원"),
        ("「취업규칙」 제24조", "취업규칙제24조"),
        ("『연차휴가』", "연차휴가"),
        ("《헌법》", "헌법"),
        ("‘재택근무’ 신청서", "재택근무신청서"),
        ("20,000원.", "20000원"),
        ("3·1운동", "31운동"),
        ("VPN (Virtual Private Network)", "vpnvirtualprivatenetwork"),
        ("3.5%", "35"),
        ("$300", "$300"),
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_normalize_answer_composes_decomposed_hangul() -> None:
    decomposed = unicodedata.normalize("NFD", "연차휴가")
    assert decomposed != "연차휴가"
    assert normalize_answer(decomposed) == "연차휴가"


def test_exact_match_ignores_spacing_and_punctuation() -> None:
    assert exact_match("2만 원", "“2만원”") == 1.0
    assert exact_match("15일", "15 일.") == 1.0
    assert exact_match("15일", "14일") == 0.0


def test_char_f1_counts_characters_with_multiplicity() -> None:
    # prediction 연차휴가는 (5 chars), truth 연차휴가 (4): 4 in common → P 4/5, R 1 → F1 8/9
    assert char_f1("연차휴가는", "연차휴가") == pytest.approx(8 / 9)
    # 가가나 vs 가나나: 가 once and 나 once in common → P = R = 2/3
    assert char_f1("가가나", "가나나") == pytest.approx(2 / 3)
    assert char_f1("15일", "15일") == 1.0
    assert char_f1("abc", "xyz") == 0.0


def test_char_f1_of_empty_strings() -> None:
    assert char_f1("", "") == 1.0
    assert char_f1("…", "") == 1.0  # punctuation only normalises to nothing
    assert char_f1("", "15일") == 0.0
    assert char_f1("15일", "") == 0.0


def test_best_over_acceptable_answers() -> None:
    truths = ["15일", "열다섯 날"]
    assert best_exact_match("열다섯 날", truths) == 1.0
    assert best_char_f1("연차 15일입니다", truths) == pytest.approx(2 * (3 / 8) / (3 / 8 + 1))
    assert best_exact_match("15일", []) == 0.0
    assert best_char_f1("15일", []) == 0.0


def test_contains_answer() -> None:
    sentence = "출장일비는 1일 20,000원으로 한다."
    assert contains_answer(sentence, ["2만 원", "20000원"])
    assert not contains_answer(sentence, ["30000원"])
    assert not contains_answer(sentence, ["", "  "])  # an empty answer is in every text: never counts


def test_strip_citations() -> None:
    assert strip_citations("연차휴가는 15일입니다 [1][2].") == "연차휴가는 15일입니다 ."
    assert strip_citations("[3] 답") == "답"
