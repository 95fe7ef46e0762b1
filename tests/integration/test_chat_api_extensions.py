"""``/v1/chat/completions`` through the real app with scripted models: the ``evidence`` extension, error
events mid-stream, 503 when the model is unreachable, and closing the model stream on disconnect."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from core.settings import Settings
from llm.client import LLMStreamError, LLMTimeoutError, LLMUnavailableError, StreamChunk
from llm.fake import ExtractiveFakeModel
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.integration.llm_stack import bearer_token, wait_for
from tests.support.containers import make_container
from tests.support.servers import serve

pytestmark = pytest.mark.integration

POLICY = """# 복리후생 안내

## 경조사비

본인 결혼 시 경조사비 100만원과 특별휴가 5일을 지급한다. 자녀 결혼 시에는 50만원을 지급한다.
"""
QUESTION: list[Any] = [{"role": "user", "content": "결혼하면 경조사비는 얼마인가요?"}]


class Scripted:
    """Streams an answer; ``failure`` is raised when the model is opened or after two pieces."""

    model = "scripted"

    def __init__(self, failure: Exception | None = None, *, at_open: bool = False) -> None:
        self.failure, self.at_open = failure, at_open
        self.closed = 0

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: Sequence[str] = ()
    ) -> Iterator[StreamChunk]:
        if self.failure is not None and self.at_open:
            raise self.failure
        return self._pieces()

    def _pieces(self) -> Iterator[StreamChunk]:
        try:
            for i, piece in enumerate(["본인 결혼 시 ", "경조사비는 ", "100만원입니다 [1]."] * 20):
                if self.failure is not None and i == 2:
                    raise self.failure
                yield StreamChunk(text=piece)
            yield StreamChunk(finish_reason="stop")
        finally:
            self.closed += 1


def harness_for(settings: Settings, kiwi: KiwiTokenizer, model: object) -> Iterator[ApiHarness]:
    container = make_container(settings, kiwi, chat_model=model)  # type: ignore[arg-type]
    with TestClient(create_app(settings, container)) as client:
        harness = ApiHarness(container, client)
        harness.ingest(POLICY, "복리후생.md", public=True)
        yield harness
    container.engine.dispose()


@pytest.fixture
def fake_api(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[ApiHarness]:
    yield from harness_for(settings, kiwi, ExtractiveFakeModel())


def sdk(harness: ApiHarness, headers: dict[str, str]) -> openai.OpenAI:
    token = headers["Authorization"].removeprefix("Bearer ")
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=token, http_client=harness.client, max_retries=0
    )


def sse_events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


def test_non_streaming_answers_carry_evidence_next_to_sources(fake_api: ApiHarness) -> None:
    completion = sdk(fake_api, fake_api.user("kim")).chat.completions.create(model="jikji", messages=QUESTION)
    extra = completion.model_extra or {}
    assert extra["sources"][0]["cited"] is True
    evidence = extra["evidence"]
    assert evidence[0]["source"] == extra["sources"][0]["number"]
    assert evidence[0]["sentence"] == "본인 결혼 시 경조사비 100만원과 특별휴가 5일을 지급한다."
    assert evidence[0]["cited"] is True and 0 < evidence[0]["score"] <= 1


def test_the_final_streamed_chunk_carries_evidence(fake_api: ApiHarness) -> None:
    stream = sdk(fake_api, fake_api.user("kim")).chat.completions.create(
        model="jikji",
        messages=QUESTION,
        stream=True,
    )
    chunks = list(stream)
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.choices[0].finish_reason == "stop"
    extra = final.model_extra or {}
    assert "100만원" in extra["evidence"][0]["sentence"]
    assert all("evidence" not in (c.model_extra or {}) for c in chunks if c is not final)


@pytest.mark.parametrize(
    ("failure", "code"),
    [(LLMStreamError("connection lost"), "llm_stream_failed"), (LLMTimeoutError("silent"), "llm_timeout")],
)
def test_a_failure_mid_stream_ends_the_stream_with_an_error_event(
    settings: Settings, kiwi: KiwiTokenizer, failure: Exception, code: str
) -> None:
    model = Scripted(failure)
    for harness in harness_for(settings, kiwi, model):
        response = harness.client.post(
            "/v1/chat/completions", json={"messages": QUESTION, "stream": True}, headers=harness.user("kim")
        )
        assert response.status_code == 200
        events = sse_events(response.text)
        assert events[-1] == "[DONE]"
        error = json.loads(events[-2])["error"]
        assert error["code"] == code
        assert error["message_ko"] and error["message_en"] == error["message"]
        assert "본인 결혼 시" in json.loads(events[1])["choices"][0]["delta"]["content"]
        assert model.closed == 1
        with pytest.raises(openai.APIError, match="language model server"):
            list(
                sdk(harness, harness.user("kim")).chat.completions.create(
                    model="j", messages=QUESTION, stream=True
                )
            )


def test_a_failure_mid_answer_without_streaming_is_a_503(settings: Settings, kiwi: KiwiTokenizer) -> None:
    for harness in harness_for(settings, kiwi, Scripted(LLMStreamError("connection lost"))):
        response = harness.client.post(
            "/v1/chat/completions", json={"messages": QUESTION}, headers=harness.user("kim")
        )
        assert response.status_code == 503
        assert response.json()["code"] == "llm_unavailable"


@pytest.mark.parametrize("stream", [False, True])
def test_an_unreachable_model_is_a_503_problem_even_when_streaming(
    settings: Settings, kiwi: KiwiTokenizer, stream: bool
) -> None:
    model = Scripted(LLMUnavailableError("connection refused"), at_open=True)
    for harness in harness_for(settings, kiwi, model):
        response = harness.client.post(
            "/v1/chat/completions", json={"messages": QUESTION, "stream": stream}, headers=harness.user("kim")
        )
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["code"] == "llm_unavailable"
        assert "언어 모델" in body["message_ko"] and "language model" in body["message_en"]


class Endless(Scripted):
    """Streams until closed (10,000 pieces at most), counting what it produced."""

    def __init__(self) -> None:
        super().__init__()
        self.produced = 0

    def _pieces(self) -> Iterator[StreamChunk]:
        try:
            for _ in range(10_000):
                time.sleep(0.01)  # pacing like a model decoding, not a timing assertion
                self.produced += 1
                yield StreamChunk(text="계속 ")
            yield StreamChunk(finish_reason="length")
        finally:
            self.closed += 1


def test_a_client_that_disconnects_closes_the_model_stream(settings: Settings, kiwi: KiwiTokenizer) -> None:
    """Over a real socket (uvicorn): Starlette abandons a synchronous stream on disconnect without
    closing it; Jikji notices the cancellation in the worker thread and closes the model stream."""
    model = Endless()
    gc.disable()  # prove it does not rely on the garbage collector to close abandoned generators
    try:
        container = make_container(settings, kiwi, chat_model=model)  # type: ignore[arg-type]
        headers = {"Authorization": f"Bearer {bearer_token(container)}"}
        with serve(create_app(settings, container)) as base:
            body = {"messages": QUESTION, "stream": True}
            with httpx.stream(
                "POST", f"{base}/v1/chat/completions", json=body, headers=headers, timeout=60
            ) as response:
                contents = 0
                for line in response.iter_lines():
                    contents += "계속" in line
                    if contents == 3:
                        break
            wait_for(lambda: model.closed == 1, "the model stream is closed after the client left")
            assert model.produced < 10_000
        container.engine.dispose()
    finally:
        gc.enable()
