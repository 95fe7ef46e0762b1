"""Tests for Korean personal-data detection, masking, the policy modes and streaming masking."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.pii import (
    PiiCase,
    PiiKind,
    PiiMatch,
    PiiMode,
    PiiRejectedError,
    StreamMasker,
    apply_pii_policy,
    business_number_valid,
    find_pii,
    format_score_table,
    load_cases,
    luhn_valid,
    mask_pii,
    rrn_plausible,
    score_cases,
)

CASES_PATH = Path(__file__).resolve().parents[1] / "data" / "pii_cases.jsonl"
MIN_CASES = 80
MIN_POSITIVES_PER_KIND = 5
MIN_NEGATIVE_CASES = 30


def _cases() -> list[PiiCase]:
    return load_cases(CASES_PATH)


def _stream(chunks: list[str], masker: StreamMasker | None = None) -> str:
    masker = masker or StreamMasker()
    return "".join(masker.feed(chunk) for chunk in chunks) + masker.flush()


# --- labelled set -------------------------------------------------------------------------


def test_labelled_set_is_large_and_covers_every_kind() -> None:
    cases = _cases()
    positives = Counter(kind for case in cases for kind, _ in case.expected)
    negatives = sum(1 for case in cases if not case.expected)
    assert len(cases) >= MIN_CASES
    assert all(positives[kind] >= MIN_POSITIVES_PER_KIND for kind in PiiKind), positives
    assert negatives >= MIN_NEGATIVE_CASES


def test_precision_and_recall_per_kind_are_perfect_on_labelled_set() -> None:
    scores = score_cases(_cases())
    print()
    print(format_score_table(scores))
    for kind, score in scores.items():
        assert score.precision == 1.0, (kind, score)
        assert score.recall == 1.0, (kind, score)


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case.text[:40])
def test_each_labelled_case(case: PiiCase) -> None:
    found = Counter((match.kind, match.text) for match in find_pii(case.text))
    assert found == Counter(case.expected)


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case.text[:40])
def test_matches_are_sorted_non_overlapping_and_point_at_original_text(case: PiiCase) -> None:
    matches = find_pii(case.text)
    for match in matches:
        assert case.text[match.start : match.end] == match.text
    for left, right in itertools.pairwise(matches):
        assert left.end <= right.start


# --- masking ------------------------------------------------------------------------------


def test_mask_pii_uses_kind_tokens() -> None:
    text = (
        "주민번호 900101-1234567, 휴대폰 010-1234-5678, 사업자 124-81-00998, "
        "카드 4111-1111-1111-1111, 메일 hong@example.co.kr, 날짜 2024-01-15"
    )
    assert mask_pii(text) == (
        "주민번호 [주민등록번호], 휴대폰 [전화번호], 사업자 [사업자등록번호], "
        "카드 [카드번호], 메일 [이메일], 날짜 2024-01-15"
    )


def test_full_width_input_replaces_the_original_span() -> None:
    text = "번호 ９００１０１－１２３４５６７ 끝"
    assert find_pii(text) == [PiiMatch(PiiKind.RRN, 3, 17, "９００１０１－１２３４５６７")]
    assert mask_pii(text) == "번호 [주민등록번호] 끝"


def test_text_without_pii_is_unchanged() -> None:
    text = "2024-01-15 13:45:20 주문번호 2024011512345678 금액 1,000,000원 제12조 v1.2.3"
    assert find_pii(text) == []
    assert mask_pii(text) == text


def test_tokens_are_stable() -> None:
    assert [kind.token for kind in PiiKind] == [
        "[주민등록번호]",
        "[전화번호]",
        "[사업자등록번호]",
        "[카드번호]",
        "[이메일]",
    ]


# --- policy -------------------------------------------------------------------------------


def test_policy_off_leaves_text_alone() -> None:
    text = "연락처 010-1234-5678"
    assert apply_pii_policy(text, PiiMode.OFF) == text


def test_policy_mask_masks() -> None:
    assert apply_pii_policy("연락처 010-1234-5678", PiiMode.MASK) == "연락처 [전화번호]"


def test_policy_reject_raises_with_kinds_and_bilingual_message() -> None:
    text = "주민번호 900101-1234567 / 010-1234-5678 / 010-9999-8888"
    with pytest.raises(PiiRejectedError) as info:
        apply_pii_policy(text, PiiMode.REJECT)
    error = info.value
    assert error.kinds == {PiiKind.RRN, PiiKind.PHONE}
    assert isinstance(error, IngestError)
    assert error.code == "pii_rejected"
    assert "주민등록번호" in error.message_ko
    assert "전화번호" in error.message_ko
    assert "resident registration number" in error.message_en
    assert "phone number" in error.message_en
    assert "900101" not in str(error)


def test_policy_reject_passes_clean_text() -> None:
    text = "회의는 2024-01-15 14:00, 장소는 본사 3층입니다."
    assert apply_pii_policy(text, PiiMode.REJECT) == text


def test_mode_parses_from_config_strings() -> None:
    assert [PiiMode(value) for value in ("off", "mask", "reject")] == list(PiiMode)


# --- checksums and validators -------------------------------------------------------------


@pytest.mark.parametrize("number", ["124-81-00998", "220-81-62517", "1048134567", "６０６－８６－０００３０"])
def test_business_number_checksum_valid(number: str) -> None:
    assert business_number_valid(number)


@pytest.mark.parametrize("number", ["124-81-00999", "220-81-62518", "124-81-0099", "1248100998 1"])
def test_business_number_checksum_invalid(number: str) -> None:
    assert not business_number_valid(number)


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "79927398713"],
)
def test_luhn_valid(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "5555-5555-5555-4445", "79927398710", "0", ""])
def test_luhn_invalid(number: str) -> None:
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("900101-1234567", True),
        ("900101-5234567", True),  # foreigner, 1900s
        ("040229-4234567", True),  # 2004 is a leap year
        ("030229-3234567", False),  # 2003 is not
        ("000229-3234567", True),  # 2000 is a leap year
        ("000229-1234567", False),  # 1900 is not
        ("900101-9234567", False),  # 1800s: rejected by design
        ("900101-0234567", False),
        ("901301-1234567", False),
        ("900100-1234567", False),
        ("900101-123456", False),
    ],
)
def test_rrn_plausibility(number: str, expected: bool) -> None:
    assert rrn_plausible(number) is expected


def test_card_requires_plausible_issuer_prefix() -> None:
    # Luhn-valid, but 1xxx / 20xx prefixes are not card ranges (timestamps, order numbers).
    assert luhn_valid("1000000000000008")
    assert find_pii("번호 1000000000000008") == []
    assert luhn_valid("2024011512345674")
    assert find_pii("번호 2024011512345674") == []


def test_digit_run_boundaries() -> None:
    assert find_pii("01012345678") != []
    assert find_pii("901012345678") == []
    assert find_pii("010123456789") == []
    assert find_pii("9001011234567") != []
    assert find_pii("19001011234567") == []


# --- streaming ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case.text[:40])
def test_stream_two_chunks_at_every_split_equals_mask(case: PiiCase) -> None:
    expected = mask_pii(case.text)
    for cut in range(len(case.text) + 1):
        assert _stream([case.text[:cut], case.text[cut:]]) == expected, cut


def test_stream_random_chunkings_equal_mask() -> None:
    rng = random.Random(20240115)
    for case in _cases():
        expected = mask_pii(case.text)
        for _ in range(20):
            chunks = _random_chunks(case.text, rng)
            assert _stream(chunks) == expected, chunks


def test_stream_char_by_char_over_whole_corpus_equals_mask() -> None:
    text = "\n".join(case.text for case in _cases())
    assert _stream(list(text)) == mask_pii(text)


def test_stream_never_emits_a_partial_phone_number() -> None:
    masker = StreamMasker()
    emitted = masker.feed("담당자 연락처는 010-12")
    emitted += masker.feed("34-56")
    assert "010" not in emitted
    assert "12" not in emitted
    emitted += masker.feed("78 입니다. 감사합니다.")
    emitted += masker.flush()
    assert emitted == "담당자 연락처는 [전화번호] 입니다. 감사합니다."


def test_stream_releases_korean_prose_promptly() -> None:
    masker = StreamMasker()
    text = "안녕하세요. 오늘 회의 안건을 정리해 드리겠습니다"
    assert masker.feed(text) == text
    assert masker.flush() == ""
    assert masker.feed("회의실은 3층 ") == "회의실은 3층"  # a trailing space may join digits
    assert masker.feed("대회의실") == " 대회의실"


def test_stream_holds_email_until_complete() -> None:
    masker = StreamMasker()
    out = masker.feed("메일은 hong.gil")
    out += masker.feed("dong@exam")
    assert "hong" not in out
    out += masker.feed("ple.co.kr 로 보내 주세요")
    out += masker.flush()
    assert out == "메일은 [이메일] 로 보내 주세요"


def test_stream_can_be_reused_after_flush() -> None:
    masker = StreamMasker()
    assert _stream(["010-1234-", "5678"], masker) == "[전화번호]"
    assert _stream(["메일 a@b.", "com"], masker) == "메일 [이메일]"


def test_stream_force_releases_an_unbroken_run() -> None:
    masker = StreamMasker(max_hold=100)
    text = "1 " * 500
    emitted = "".join(masker.feed(text[i : i + 10]) for i in range(0, len(text), 10))
    assert emitted  # something came out before flush despite no safe boundary
    assert emitted + masker.flush() == text


def _random_chunks(text: str, rng: random.Random) -> list[str]:
    chunks: list[str] = []
    pos = 0
    while pos < len(text):
        size = rng.randint(0, 7)
        chunks.append(text[pos : pos + size])
        pos += size
    return chunks
