"""The chat service over real retrieval with scripted models: follow-ups, regenerate, evidence, stop,
cancellation and failures mid-answer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from app.container import Container
from app.services.chat import ChatService, without_last_answer
from core.settings import LLMSettings, PiiMode, Settings
from ingest.pipeline import IngestRequest
from llm.client import LLMStreamError, LLMUnavailableError, StreamChunk
from llm.rewrite import REWRITE_INSTRUCTION
from retrieval.types import AccessScope

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


ANNUAL = """# 연차휴가 규정

제5조(연차휴가 신청 절차) 연차휴가는 사용 3일 전까지 전자결재로 신청하고 팀장의 승인을 받는다.
"""
SICK = """# 병가 규정

제7조(병가 신청 절차) 병가는 진단서를 첨부하여 인사팀에 신청하며, 연간 60일까지 쓸 수 있다.
"""


class ScriptedModel:
    """Streams ``pieces`` (then stops), records every call, and notes when its stream is closed."""

    model = "scripted"

    def __init__(self, pieces: Sequence[str] = ("병가는 진단서를 첨부해 신청합니다 [1].",)) -> None:
        self.pieces = list(pieces)
        self.calls: list[dict[str, Any]] = []
        self.closed = 0
        self.fail_after: int | None = None
        self.rewrite_reply = "병가 신청 절차"

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: Sequence[str] = ()
    ) -> Iterator[StreamChunk]:
        self.calls.append({"messages": messages, "temperature": temperature})
        if REWRITE_INSTRUCTION in messages[0]["content"]:
            return iter([StreamChunk(text=self.rewrite_reply), StreamChunk(finish_reason="stop")])
        return self._answer()

    def _answer(self) -> Iterator[StreamChunk]:
        try:
            for i, piece in enumerate(self.pieces):
                if self.fail_after is not None and i == self.fail_after:
                    raise LLMStreamError("connection lost")
                yield StreamChunk(text=piece)
            yield StreamChunk(finish_reason="stop")
        finally:
            self.closed += 1


@pytest.fixture
def indexed(container: Container) -> Container:
    for name, text in (("연차휴가.md", ANNUAL), ("병가.md", SICK)):
        container.pipeline.ingest(IngestRequest(data=text.encode(), filename=name, is_public=True))
    return container


def service(container: Container, model: ScriptedModel, **llm: object) -> ChatService:
    return ChatService(container.searcher, model, LLMSettings.model_validate(llm), PiiMode.MASK)


FOLLOW_UP = [
    {"role": "user", "content": "연차휴가 신청 절차는?"},
    {"role": "assistant", "content": "사용 3일 전까지 전자결재로 신청합니다 [1]."},
    {"role": "user", "content": "그럼 병가는요?"},
]


def test_a_follow_up_is_searched_as_a_standalone_query(indexed: Container) -> None:
    model = ScriptedModel()
    answer = service(indexed, model).answer(FOLLOW_UP, AccessScope())
    assert answer.question == "그럼 병가는요?"
    assert answer.search_query == "신청 절차 병가는요?"
    assert answer.sources[0].hit.title == "병가 규정"
    list(answer)
    prompt = model.calls[0]["messages"]
    assert prompt[-1]["content"].endswith("질문: 그럼 병가는요?")
    assert [m["role"] for m in prompt] == ["user", "assistant", "user"]
    assert answer.timings.rewrite_ms <= answer.timings.retrieval_ms


def test_rewriting_can_be_switched_off(indexed: Container) -> None:
    answer = service(indexed, ScriptedModel(), query_rewrite="off").answer(FOLLOW_UP, AccessScope())
    assert answer.search_query == "그럼 병가는요?"


def test_the_model_can_rewrite_and_sees_no_personal_data(indexed: Container) -> None:
    model = ScriptedModel()
    messages = [
        {"role": "user", "content": "연차휴가 신청 절차는? 제 번호는 010-1234-5678입니다"},
        {"role": "assistant", "content": "전자결재로 신청합니다 [1]."},
        {"role": "user", "content": "그럼 병가는요?"},
    ]
    answer = service(indexed, model, query_rewrite="llm").answer(messages, AccessScope())
    assert answer.search_query == "병가 신청 절차"
    rewrite_prompt = model.calls[0]["messages"][0]["content"]
    assert "010-1234-5678" not in rewrite_prompt
    assert "그럼 병가는요?" in rewrite_prompt


def test_a_failed_model_rewrite_falls_back_to_the_rules(indexed: Container) -> None:
    model = ScriptedModel()
    model.rewrite_reply = ""
    answer = service(indexed, model, query_rewrite="llm").answer(FOLLOW_UP, AccessScope())
    assert answer.search_query == "신청 절차 병가는요?"


def test_regenerate_drops_the_last_answer_and_samples_again(indexed: Container) -> None:
    model = ScriptedModel()
    chat = service(indexed, model, temperature=0.2)
    previous = [*FOLLOW_UP, {"role": "assistant", "content": "엉뚱한 답"}]
    answer = chat.regenerate(previous, AccessScope())
    list(answer)
    assert answer.question == "그럼 병가는요?"
    prompt = model.calls[0]["messages"]
    assert all("엉뚱한 답" not in m["content"] for m in prompt)
    assert model.calls[0]["temperature"] == 0.7
    list(chat.regenerate(previous, AccessScope(), temperature=0.0))
    assert model.calls[1]["temperature"] == 0.0
    assert without_last_answer(previous) == FOLLOW_UP
    with pytest.raises(ValueError):
        without_last_answer([{"role": "assistant", "content": "안녕하세요"}])


def test_the_answer_carries_evidence_from_the_cited_source(indexed: Container) -> None:
    answer = service(indexed, ScriptedModel()).answer(FOLLOW_UP, AccessScope())
    list(answer)
    assert answer.finish_reason == "stop"
    first = answer.evidence[0]
    assert first["source"] == 1 and first["cited"] is True
    assert "진단서를 첨부하여" in first["sentence"]
    assert 0 < first["score"] <= 1


def test_without_citations_the_evidence_comes_from_every_source(indexed: Container) -> None:
    model = ScriptedModel(["잘 모르겠습니다."])
    generative = service(indexed, model, answer_mode="generative")
    answer = generative.answer([{"role": "user", "content": "병가 신청 절차는?"}], AccessScope())
    list(answer)
    assert answer.cited == []
    assert answer.evidence and all(item["cited"] is False for item in answer.evidence)
    assert "진단서" in answer.evidence[0]["sentence"]


def test_stop_ends_the_answer_after_the_current_token_and_closes_the_model_stream(indexed: Container) -> None:
    model = ScriptedModel(
        ["병가는 ", "진단서를 ", "첨부해 ", "인사팀에 ", "신청하며, ", "연간 60일까지 ", "쓸 수 있습니다."]
    )
    answer = service(indexed, model).answer(FOLLOW_UP, AccessScope())
    for _ in answer:
        answer.stop()  # e.g. from the thread serving a "stop" request
    assert answer.finish_reason == "stopped"
    assert answer.answer.startswith("병가는 진단서를")
    assert "60일" not in answer.answer
    assert model.closed == 1


def test_a_consumer_that_goes_away_closes_the_model_stream(indexed: Container) -> None:
    model = ScriptedModel(["병가는 진단서를 ", "첨부해 ", "신청합니다."])
    answer = service(indexed, model).answer(FOLLOW_UP, AccessScope())
    iterator = iter(answer)
    first = next(iterator)
    iterator.close()  # type: ignore[attr-defined]
    assert model.closed == 1
    assert answer.finish_reason == "cancelled"
    assert answer.answer == first


def test_a_failure_mid_answer_is_recorded_and_raised(indexed: Container) -> None:
    model = ScriptedModel(["병가는 진단서를 ", "첨부해 ", "신청합니다."])
    model.fail_after = 2
    answer = service(indexed, model).answer(FOLLOW_UP, AccessScope())
    with pytest.raises(LLMUnavailableError):
        list(answer)
    assert answer.finish_reason == "error"
    assert answer.error == "connection lost"
    assert answer.answer.startswith("병가는 진단서를")  # what streamed before the failure is kept
    assert model.closed == 1


class DownModel(ScriptedModel):
    def stream(self, messages, *, max_tokens, temperature, stop=()):  # type: ignore[no-untyped-def]
        raise LLMUnavailableError("connection refused")


def test_open_reports_an_unreachable_model_before_any_text(indexed: Container) -> None:
    answer = service(indexed, DownModel()).answer(FOLLOW_UP, AccessScope())
    with pytest.raises(LLMUnavailableError):
        answer.open()
    with pytest.raises(LLMUnavailableError):
        list(answer)
    assert answer.finish_reason == "error"


def test_auto_mode_adds_the_evidence_to_an_answer_that_cites_nothing(indexed: Container) -> None:
    model = ScriptedModel(["잘 모르겠습니다."])
    answer = service(indexed, model).answer([{"role": "user", "content": "병가 신청 절차는?"}], AccessScope())
    text = "".join(answer)
    assert text.startswith("잘 모르겠습니다.") and "진단서" in text and "[1]" in text
    assert answer.fallback and answer.faithfulness["evidence_added"] and answer.grounded


def test_an_invented_figure_is_flagged_and_never_grounded(indexed: Container) -> None:
    model = ScriptedModel(["병가는 연간 ", "90일까지 쓸 수 있습니다 [1]. ", "진단서를 ", "첨부합니다."])
    answer = service(indexed, model, answer_mode="generative").answer(
        [{"role": "user", "content": "병가는 며칠까지 쓸 수 있나요?"}], AccessScope()
    )
    text = "".join(answer)
    assert "90일" in text  # flag: shown, and marked as unsupported
    assert not answer.grounded and answer.cited
    assert [item["text"] for item in answer.faithfulness["unsupported"]] == ["90일"]


def test_drop_sentence_leaves_the_invented_figure_out(indexed: Container) -> None:
    model = ScriptedModel(
        ["병가는 진단서를 첨부해 인사팀에 신청한다. ", "또한 보너스로 ", "5일을 더 준다. ", "끝."]
    )
    answer = service(indexed, model, answer_mode="generative", faithfulness_policy="drop_sentence").answer(
        [{"role": "user", "content": "병가 신청 절차는?"}], AccessScope()
    )
    text = "".join(answer)
    assert "진단서" in text and "5일을" not in text
    assert answer.faithfulness["dropped_sentences"] == ["또한 보너스로 5일을 더 준다."]
    assert "신청한다. [1]" in text  # the supported sentence got its marker although the model wrote none
    assert answer.grounded


def test_fallback_stops_the_model_and_answers_from_the_evidence(indexed: Container) -> None:
    model = ScriptedModel(["병가는 연간 ", "90일이다. ", "다음 문장은 ", "보이지 않는다."])
    answer = service(
        indexed, model, answer_mode="generative", faithfulness_policy="fallback_extractive"
    ).answer([{"role": "user", "content": "병가는 며칠까지 쓸 수 있나요?"}], AccessScope())
    text = "".join(answer)
    assert "90일" not in text and "보이지" not in text
    assert "60일" in text and "[1]" in text and answer.fallback and answer.grounded


def test_extractive_mode_quotes_the_evidence_and_leads_with_the_figure(indexed: Container) -> None:
    model = ScriptedModel(["never called"])
    answer = service(indexed, model, answer_mode="extractive").answer(
        [{"role": "user", "content": "병가는 며칠까지 쓸 수 있나요?"}], AccessScope()
    )
    answer.open()  # what the OpenAI-compatible route does before streaming: must not reach the model
    pieces = list(answer)
    assert len(pieces) > 3  # streamed word by word
    assert answer.answer.startswith("60일입니다.") and answer.short_answer == "60일"
    assert "에 따르면 “" in answer.answer and answer.answer.rstrip().endswith("[1]")
    assert answer.grounded and answer.mode == "extractive" and not model.calls


@pytest.mark.parametrize("pieces", [[], ["  ", "\n"]], ids=["nothing", "blank"])
def test_a_model_that_says_nothing_never_leaves_a_blank_answer(indexed: Container, pieces: list[str]) -> None:
    """Even in generative mode: the evidence is quoted, or "not found" said when there is none."""
    answer = service(indexed, ScriptedModel(pieces), answer_mode="generative").answer(
        [{"role": "user", "content": "병가 신청 절차는?"}], AccessScope()
    )
    text = "".join(answer)
    assert "진단서" in text and "[1]" in text and answer.fallback
    assert answer.answer == text
