"""Korean particles follow the final sound of the word before them (ui.korean), in every template."""

from __future__ import annotations

import re

import pytest

from ui.i18n import MESSAGES, t
from ui.korean import final_consonant, particle, with_particle


@pytest.mark.parametrize(
    ("word", "which", "expected"),
    [
        ("사전", "을", "을"),
        ("회사", "을", "를"),
        ("회사", "를", "를"),  # either form names the pair
        ("인사팀", "이", "이"),
        ("영업부", "가", "가"),
        ("관리자", "은", "는"),
        ("문서", "은", "는"),
        ("그룹", "는", "은"),
        ("사과", "와", "와"),
        ("책", "과", "과"),
        ("서울", "으로", "로"),  # ㄹ takes 로
        ("부산", "로", "으로"),
        ("바다", "으로", "로"),
        ("파일", "이나", "이나"),
        ("키", "이나", "나"),
    ],
)
def test_hangul_words_take_the_form_of_their_final(word: str, which: str, expected: str) -> None:
    assert particle(word, which) == expected


@pytest.mark.parametrize(
    ("word", "which", "expected"),
    [
        ("ui_kim", "을", "을"),  # 킴
        ("DocuFlow", "을", "를"),
        ("Excel", "으로", "로"),  # 엑셀: ㄹ
        ("team1", "이", "이"),  # 일
        ("버전 2", "이", "가"),  # 이
        ("제3", "은", "은"),  # 삼
        ("v7", "으로", "로"),  # 칠: ㄹ
        ("Jikji", "와", "와"),
        ("Hanbit Cloud", "을", "를"),
        ("Spring", "을", "을"),  # …ng: ㅇ
        ("'회의실'", "을", "을"),  # quotes and brackets are skipped
        ("보상기준(인사팀)", "이", "이"),
    ],
)
def test_digits_and_latin_words_are_read_as_spoken(word: str, which: str, expected: str) -> None:
    assert particle(word, which) == expected


def test_an_unreadable_ending_gets_both_forms() -> None:
    assert final_consonant("🙂") is None
    assert with_particle("🙂", "을") == "🙂을(를)"
    assert with_particle("🙂", "으로") == "🙂(으)로"
    assert with_particle("", "이") == "이(가)"


def test_templates_choose_the_particle() -> None:
    assert t("users.created", "ko", name="ui_kim") == "사용자 ui_kim을 만들었습니다."
    assert t("dictionary.added", "ko", term="한빛클라우드") == "용어 한빛클라우드를 추가했습니다."
    assert t("groups.deleted", "ko", name="인사팀") == "그룹 인사팀을 삭제했습니다."
    assert t("users.created", "en", name="ui_kim") == "User ui_kim created."
    assert t("docs.renamed", "ko", title="회의실 안내") == "제목을 「회의실 안내」로 바꿨습니다."
    assert t("docs.renamed", "ko", title="출장 규정 (2025)") == "제목을 「출장 규정 (2025)」로 바꿨습니다."
    assert t("docs.renamed", "ko", title="복지 제도") == "제목을 「복지 제도」로 바꿨습니다."
    assert t("docs.renamed", "ko", title="보상 기준") == "제목을 「보상 기준」으로 바꿨습니다."


def test_no_template_spells_both_forms() -> None:
    both = re.compile(r"을\(를\)|이\(가\)|은\(는\)|과\(와\)|\(으\)로")
    assert [key for key, entry in MESSAGES.items() if both.search(entry["ko"])] == []
