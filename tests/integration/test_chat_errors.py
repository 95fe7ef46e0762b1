"""Error paths of ``/v1/chat/completions`` against the real embedded llama.cpp server: the model server
down (503 problem+json in Korean and English), the connection cut or an error sent mid-answer (the
stream ends with an error event instead of hanging), and a model that goes silent (read timeout)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from core.settings import EmbeddingSettings, LLMSettings, Settings
from ingest.pipeline import IngestRequest
from llm.client import OpenAIChatModel
from llm.server import EmbeddedLlamaServer
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.integration.llm_stack import MisbehavingProxy, llama_server
from tests.support.containers import make_container
from tests.support.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.llm]

DOCUMENT = """# 사내 전화번호부 안내

사내 전화번호부에는 부서, 이름, 직급, 내선 번호가 실려 있으며 인사팀이 매월 첫째 주에 갱신한다.
"""
# With the `chat` prompt layout gemma-3-270m (a base model) answers this at length, up to max_tokens,
# so a break after AFTER_EVENTS events lands mid-answer (the control test checks that).
QUESTION: list[Any] = [{"role": "user", "content": "전화번호부에 실린 항목을 하나씩 자세히 설명해 주세요."}]
MAX_TOKENS = 60
AFTER_EVENTS = 16


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedLlamaServer, LLMSettings]]:
    data_dir = tmp_path_factory.mktemp("errors")
    with llama_server(
        data_dir,
        tmp_path_factory.getbasetemp() / "models",
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        prompt_family="chat",
    ) as (server, llm, _):
        yield server, llm


def jikji(tmp_path: Path, kiwi: KiwiTokenizer, llm: LLMSettings, base_url: str) -> Iterator[ApiHarness]:
    """Jikji whose model client talks to ``base_url``, with one document and a logged-in employee."""
    settings = Settings(data_dir=tmp_path / "data", embedding=EmbeddingSettings(model="hashing"), llm=llm)
    model = OpenAIChatModel(llm, base_url)
    container = make_container(settings, kiwi, chat_model=model)
    container.pipeline.ingest(IngestRequest(data=DOCUMENT.encode(), filename="전화번호부.md", is_public=True))
    with TestClient(create_app(settings, container)) as client:
        yield ApiHarness(container, client)
    container.engine.dispose()


def events_of(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]


def ask(harness: ApiHarness, *, stream: bool) -> tuple[int, str, dict[str, str]]:
    response = harness.client.post(
        "/v1/chat/completions", json={"messages": QUESTION, "stream": stream}, headers=harness.user("kim")
    )
    return response.status_code, response.text, dict(response.headers)


@pytest.mark.parametrize("stream", [False, True])
def test_model_server_down_is_a_503_problem_in_two_languages(
    tmp_path: Path, kiwi: KiwiTokenizer, llama: tuple[EmbeddedLlamaServer, LLMSettings], stream: bool
) -> None:
    _, llm = llama
    nothing_listens = f"http://127.0.0.1:{free_port()}/v1"
    for harness in jikji(tmp_path, kiwi, llm, nothing_listens):
        status, text, headers = ask(harness, stream=stream)
        assert status == 503
        assert headers["content-type"].startswith("application/problem+json")
        body = json.loads(text)
        assert body["code"] == "llm_unavailable"
        assert "언어 모델 서버" in body["message_ko"]
        assert "language model server" in body["message_en"]


def test_the_real_server_answers_through_the_proxy_when_it_behaves(
    tmp_path: Path, kiwi: KiwiTokenizer, llama: tuple[EmbeddedLlamaServer, LLMSettings]
) -> None:
    """The control case: the question gets a long streamed answer and a clean end."""
    server, llm = llama
    for harness in jikji(tmp_path, kiwi, llm, server.base_url):
        status, text, _ = ask(harness, stream=True)
        assert status == 200
        events = events_of(text)
        assert events[-1] == "[DONE]"
        assert len(events) > AFTER_EVENTS + 3, "the answer is long enough for a break to land mid-answer"
        assert not any('"error"' in event for event in events)


@pytest.mark.parametrize(("mode", "code"), [("cut", "llm_stream_failed"), ("error", "llm_stream_failed")])
def test_a_break_mid_answer_ends_the_stream_with_an_error_event(
    tmp_path: Path,
    kiwi: KiwiTokenizer,
    llama: tuple[EmbeddedLlamaServer, LLMSettings],
    mode: str,
    code: str,
) -> None:
    server, llm = llama
    proxy = MisbehavingProxy(server.port, mode, after_events=AFTER_EVENTS)
    try:
        for harness in jikji(tmp_path, kiwi, llm, proxy.base_url):
            status, text, _ = ask(harness, stream=True)
            assert status == 200
            assert proxy.broke.is_set()
            events = events_of(text)
            assert events[-1] == "[DONE]"
            error = json.loads(events[-2])["error"]
            assert error["code"] == code
            assert error["message_ko"] and error["message_en"]
            contents = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[1:-2]]
            assert any(contents), "part of the answer streamed before the break"
    finally:
        proxy.close()


def test_the_openai_client_raises_on_the_error_event(
    tmp_path: Path, kiwi: KiwiTokenizer, llama: tuple[EmbeddedLlamaServer, LLMSettings]
) -> None:
    server, llm = llama
    proxy = MisbehavingProxy(server.port, "cut", after_events=AFTER_EVENTS)
    try:
        for harness in jikji(tmp_path, kiwi, llm, proxy.base_url):
            token = harness.user("kim")["Authorization"].removeprefix("Bearer ")
            sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=token, http_client=harness.client)
            stream = sdk.chat.completions.create(model="jikji", messages=QUESTION, stream=True)
            with pytest.raises(openai.APIError, match="failed while answering"):
                for _ in stream:
                    pass
    finally:
        proxy.close()


def test_a_break_mid_answer_without_streaming_is_a_503(
    tmp_path: Path, kiwi: KiwiTokenizer, llama: tuple[EmbeddedLlamaServer, LLMSettings]
) -> None:
    server, llm = llama
    proxy = MisbehavingProxy(server.port, "cut", after_events=AFTER_EVENTS)
    try:
        for harness in jikji(tmp_path, kiwi, llm, proxy.base_url):
            status, text, _ = ask(harness, stream=False)
            assert status == 503
            assert json.loads(text)["code"] == "llm_unavailable"
    finally:
        proxy.close()


def test_a_model_silent_mid_answer_times_out_with_an_error_event(
    tmp_path: Path, kiwi: KiwiTokenizer, llama: tuple[EmbeddedLlamaServer, LLMSettings]
) -> None:
    server, llm = llama
    proxy = MisbehavingProxy(server.port, "stall", after_events=AFTER_EVENTS)
    impatient = llm.model_copy(update={"read_timeout_s": 2.0})
    try:
        for harness in jikji(tmp_path, kiwi, impatient, proxy.base_url):
            status, text, _ = ask(harness, stream=True)
            assert status == 200
            events = events_of(text)
            assert events[-1] == "[DONE]"
            assert json.loads(events[-2])["error"]["code"] == "llm_timeout"
    finally:
        proxy.close()


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_that_never_starts_answering_is_a_503(
    tmp_path: Path, kiwi: KiwiTokenizer, llama: tuple[EmbeddedLlamaServer, LLMSettings], stream: bool
) -> None:
    server, llm = llama
    proxy = MisbehavingProxy(server.port, "stall_headers")
    impatient = llm.model_copy(update={"read_timeout_s": 1.0})
    try:
        for harness in jikji(tmp_path, kiwi, impatient, proxy.base_url):
            status, text, _ = ask(harness, stream=stream)
            assert status == 503
            assert json.loads(text)["code"] == "llm_unavailable"
    finally:
        proxy.close()
