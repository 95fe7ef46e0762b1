"""Follow-up questions become standalone search queries (deterministic rules; LLM rewrite on a fake)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from llm.client import LLMUnavailableError, StreamChunk
from llm.rewrite import is_follow_up, rewrite_with_model, standalone_query, strip_references
from llm.terms import content_terms, stem


def conversation(*questions: str) -> list[dict[str, str]]:
    """User turns separated by assistant turns, ending with the last question."""
    messages: list[dict[str, str]] = []
    for question in questions:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": "답변 [1]"}]
    return messages[:-1]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("연차휴가는", "연차휴가"),
        ("연차휴가가", "연차휴가"),  # 휴가 ends in 가 but is not 휴 + 가
        ("제도는", "제도"),
        ("직원에게", "직원"),
        ("출장비도요", "출장비"),
        ("며칠인가요", "며칠"),
        ("지급하나요", "지급"),
        ("신청하면", "신청"),
        ("유급휴가를", "유급휴가"),
        ("15일입니다", "15일"),
        ("Leave", "leave"),
    ],
)
def test_stem_cuts_particles_and_endings_but_not_nouns(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_content_terms_drop_question_words_and_fillers() -> None:
    assert content_terms("그럼 연차휴가는 며칠인가요?") == ["연차휴가"]
    assert content_terms("결혼하면 경조사비 얼마 받나요?") == ["결혼", "경조사비"]
    assert content_terms("How many days of annual leave do I get?") == ["days", "annual", "leave"]


@pytest.mark.parametrize(
    "question",
    [
        "그럼 병가는요?",
        "병가는요?",
        "그거 신청은 어떻게 해?",
        "신청 방법은?",
        "또 누구에게 알려야 해?",
        "해외 출장도 같은가요?",
        "거기서 서류는 어디에 내요?",
        "What about sick leave?",
    ],
)
def test_follow_ups_are_recognised(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        "연차휴가는 며칠인가요?",
        "재택근무는 주 며칠까지 가능한가요?",
        "법인카드를 분실하면 어떻게 하나요?",
        "How many days of annual leave do I get?",
        "Is there a policy that covers remote work?",
    ],
)
def test_standalone_questions_are_not_follow_ups(question: str) -> None:
    assert not is_follow_up(question)


def test_a_referring_follow_up_gets_the_previous_topic() -> None:
    query = standalone_query(conversation("연차휴가는 며칠인가요?", "그거 신청은 어떻게 해?"))
    assert query == "연차휴가 신청은 어떻게 해?"


def test_a_follow_up_without_a_topic_gets_every_previous_term() -> None:
    query = standalone_query(conversation("법인카드를 분실하면 어떻게 하나요?", "또 누구에게 알려야 해?"))
    assert query == "법인카드 분실 누구에게 알려야 해?"


def test_switching_topic_carries_only_the_aspects_of_the_previous_question() -> None:
    query = standalone_query(conversation("연차휴가 신청 절차는?", "그럼 병가는요?"))
    assert query == "신청 절차 병가는요?"
    assert "연차휴가" not in query


def test_a_same_as_question_carries_the_aspect_to_the_new_topic() -> None:
    query = standalone_query(conversation("출장비 한도는 얼마인가요?", "해외 출장도 같은가요?"))
    assert query.split()[0] == "한도"
    assert "해외 출장" in query


def test_follow_ups_are_resolved_turn_by_turn() -> None:
    query = standalone_query(conversation("연차휴가는 며칠인가요?", "신청 방법은?", "서류는?"))
    assert query == "연차휴가 신청 방법 서류는?"


def test_a_new_standalone_question_resets_the_topic() -> None:
    messages = conversation("결혼하면 경조사비 얼마 받나요?", "재택근무는 주 며칠까지 가능한가요?")
    assert standalone_query(messages) == "재택근무는 주 며칠까지 가능한가요?"


def test_the_first_question_and_assistant_turns_are_left_alone() -> None:
    assert standalone_query([{"role": "user", "content": " 병가는요? "}]) == "병가는요?"
    messages = [
        {"role": "user", "content": "연차휴가는 며칠인가요?"},
        {"role": "assistant", "content": "육아휴직 규정에 따르면 15일입니다."},
        {"role": "user", "content": "그럼 신청은?"},
    ]
    assert standalone_query(messages) == "연차휴가 신청은?"


def test_english_follow_ups() -> None:
    query = standalone_query(
        conversation("How many days of sick leave do we get?", "What about annual leave?")
    )
    assert query == "days annual leave?"


def test_references_and_openers_are_removed_from_the_follow_up() -> None:
    assert strip_references("그럼 그거 신청은 어떻게 해?") == "신청은 어떻게 해?"
    assert strip_references("What about sick leave?") == "sick leave?"


class ScriptedModel:
    model = "scripted"

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.prompts: list[list[dict[str, str]]] = []
        self.closed = False

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: Sequence[str] = ()
    ) -> Iterator[StreamChunk]:
        self.prompts.append(messages)
        assert temperature == 0.0 and "\n" in stop
        return self._chunks()

    def _chunks(self) -> Iterator[StreamChunk]:
        try:
            if isinstance(self.reply, Exception):
                raise self.reply
            for piece in self.reply.split(" "):
                yield StreamChunk(text=piece + " ")
            yield StreamChunk(finish_reason="stop")
        finally:
            self.closed = True


def test_the_model_rewrite_sees_the_conversation_and_its_label_is_stripped() -> None:
    model = ScriptedModel("검색 질의: 병가 신청 절차")
    query = rewrite_with_model(model, conversation("연차휴가 신청 절차는?", "그럼 병가는요?"))
    assert query == "병가 신청 절차"
    prompt = model.prompts[0][0]["content"]
    assert "사용자: 연차휴가 신청 절차는?" in prompt and "사용자: 그럼 병가는요?" in prompt
    assert model.closed


@pytest.mark.parametrize("reply", ["", "???", "가" * 300, LLMUnavailableError("down")])
def test_an_unusable_model_rewrite_gives_none(reply: str | Exception) -> None:
    assert rewrite_with_model(ScriptedModel(reply), conversation("연차?", "그럼 병가는요?")) is None
