"""Korean error messages choose their particle from the word instead of writing '을(를)'."""

from __future__ import annotations

import pytest

from app.services.errors import not_found, object_particle


@pytest.mark.parametrize(
    ("word", "particle"),
    [("문서", "를"), ("용어", "를"), ("그룹", "을"), ("API 키", "를"), ("게이트 실행", "을"), ("작업", "을")],
)
def test_object_particle_follows_the_final_consonant(word: str, particle: str) -> None:
    assert object_particle(word) == particle


def test_object_particle_gives_both_forms_when_the_word_is_not_hangul() -> None:
    assert object_particle("model-x") == "을(를)"
    assert object_particle("") == "을(를)"


def test_not_found_reads_as_korean() -> None:
    assert not_found("문서", "document").message_ko == "문서를 찾을 수 없습니다."
    assert not_found("사용자", "user").message_ko == "사용자를 찾을 수 없습니다."
    assert not_found("그룹", "group").message_ko == "그룹을 찾을 수 없습니다."
