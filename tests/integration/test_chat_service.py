"""The chat service on real retrieval with a recording fake model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from app.container import Container
from app.services.chat import ChatService
from core.settings import LLMSettings
from ingest.pipeline import IngestRequest
from llm.client import StreamChunk
from llm.prompts import SYSTEM_PROMPT_KO
from retrieval.types import AccessScope

pytestmark = pytest.mark.integration


class RecordingModel:
    model = "recording"

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: Sequence[str] = ()
    ) -> Iterator[StreamChunk]:
        self.calls.append({"messages": messages, "stop": list(stop), "max_tokens": max_tokens})
        yield StreamChunk(text="연차는 15일입니다 [1].")
        yield StreamChunk(text=" 없는 출처 [9].")
        yield StreamChunk(finish_reason="stop")


@pytest.fixture
def service_and_model(container: Container) -> tuple[ChatService, RecordingModel]:
    text = "# 취업규칙\n\n제12조(연차휴가) ① 회사는 직원에게 15일의 유급휴가를 준다.\n"
    container.pipeline.ingest(IngestRequest(data=text.encode(), filename="취업규칙.md", is_public=True))
    model = RecordingModel()
    return ChatService(container.searcher, model, LLMSettings(prompt_family="base")), model


def test_base_family_puts_rules_in_the_user_turn_and_sends_stop_sequences(service_and_model) -> None:
    service, model = service_and_model
    answer = service.answer([{"role": "user", "content": "연차 며칠?"}], AccessScope())
    assert "".join(answer) == "연차는 15일입니다 [1]. 없는 출처 [9]."
    call = model.calls[0]
    messages = call["messages"]
    assert [m["role"] for m in messages] == ["user"]  # type: ignore[index]
    assert messages[0]["content"].startswith(SYSTEM_PROMPT_KO)  # type: ignore[index]
    assert "\n질문" in call["stop"]  # type: ignore[operator]


def test_citations_map_to_sources_and_dangling_markers_are_dropped(service_and_model) -> None:
    service, _ = service_and_model
    answer = service.answer([{"role": "user", "content": "연차 며칠?"}], AccessScope())
    for _ in answer:
        pass
    assert [ref.hit.title for ref in answer.cited] == ["취업규칙"]
    assert answer.cited[0].hit.article == "제12조"
    assert "[9]" not in answer.clean_answer
    assert answer.timings.first_token_ms > 0


def test_history_is_made_alternating_for_chat_templates(service_and_model) -> None:
    service, model = service_and_model
    messages = [
        {"role": "system", "content": "ignored"},
        {"role": "assistant", "content": "안녕하세요"},
        {"role": "user", "content": "연차?"},
        {"role": "user", "content": "연차 며칠?"},
        {"role": "assistant", "content": "15일"},
        {"role": "user", "content": "가산은?"},
    ]
    list(service.answer(messages, AccessScope()))
    roles = [m["role"] for m in model.calls[0]["messages"]]  # type: ignore[union-attr]
    assert roles == ["user", "assistant", "user"]


class LabelModel(RecordingModel):
    def stream(self, messages, *, max_tokens, temperature, stop=()):  # type: ignore[no-untyped-def]
        for piece in ["답", "변:", "\n", "연차는 ", "15일", "입니다 [1]."]:
            yield StreamChunk(text=piece)
        yield StreamChunk(finish_reason="stop")


def test_a_leading_answer_label_is_removed_from_the_stream(container: Container) -> None:
    text = "# 취업규칙\n\n제12조(연차휴가) ① 회사는 직원에게 15일의 유급휴가를 준다.\n"
    container.pipeline.ingest(IngestRequest(data=text.encode(), filename="a.md", is_public=True))
    service = ChatService(container.searcher, LabelModel(), LLMSettings())
    answer = service.answer([{"role": "user", "content": "연차?"}], AccessScope())
    assert "".join(answer) == "연차는 15일입니다 [1]."
    assert answer.answer == "연차는 15일입니다 [1]."


class LeakyModel(RecordingModel):
    def stream(self, messages, *, max_tokens, temperature, stop=()):  # type: ignore[no-untyped-def]
        self.calls.append({"messages": messages})
        for piece in ["담당자 연락처는 010-12", "34-5678 이고 주민번호는 900101-", "1234567 입니다."]:
            yield StreamChunk(text=piece)
        yield StreamChunk(finish_reason="stop")


def test_personal_data_is_masked_in_the_prompt_and_in_the_stream(container: Container) -> None:
    from core.settings import PiiMode

    model = LeakyModel()
    service = ChatService(container.searcher, model, LLMSettings(), PiiMode.MASK)
    answer = service.answer(
        [{"role": "user", "content": "제 번호 010-9876-5432로 연락 주세요"}], AccessScope()
    )
    streamed = "".join(answer)
    assert "010-12" not in streamed
    assert "1234567" not in streamed
    assert "[전화번호]" in streamed
    assert "[주민등록번호]" in streamed
    assert "010-9876-5432" not in model.calls[0]["messages"][-1]["content"]  # type: ignore[index]
