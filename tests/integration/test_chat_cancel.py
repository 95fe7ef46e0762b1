"""Cancellation against the real embedded llama.cpp server: when Jikji's consumer stops, or Jikji's own
HTTP client disconnects mid-answer, the stream to the model server is closed and llama.cpp itself
sees the client go away (its log says "Disconnected from client"), then serves the next request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.api.factory import create_app
from core.settings import EmbeddingSettings, LLMSettings, Settings
from llm.client import OpenAIChatModel
from llm.server import EmbeddedLlamaServer
from retrieval.tokenizer import KiwiTokenizer
from tests.integration.llm_stack import bearer_token, llama_server, wait_for
from tests.support.containers import make_container
from tests.support.servers import serve

pytestmark = [pytest.mark.integration, pytest.mark.llm]

COUNTING = [{"role": "user", "content": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,"}]
LONG_QUESTION = "가, 나, 다, 라, 마, 바, 사, 아,"  # under the `chat` layout the model keeps listing
DISCONNECTED = "Disconnected from client"


@pytest.fixture(scope="module")
def llama(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EmbeddedLlamaServer, LLMSettings, Path]]:
    data_dir = tmp_path_factory.mktemp("cancel")
    models_dir = tmp_path_factory.getbasetemp() / "models"
    with llama_server(data_dir, models_dir, max_tokens=400, temperature=0.0, prompt_family="chat") as stack:
        yield stack


def disconnects(log_path: Path) -> int:
    """How many times llama.cpp has logged a client going away mid-stream."""
    return log_path.read_text(errors="replace").count(DISCONNECTED)


def test_closing_the_model_stream_makes_llama_cpp_stop(
    llama: tuple[EmbeddedLlamaServer, LLMSettings, Path],
) -> None:
    server, llm, log_path = llama
    model = OpenAIChatModel(llm, server.base_url)
    before = disconnects(log_path)
    stream = model.stream(COUNTING, max_tokens=400, temperature=0.0)
    received = [next(stream) for _ in range(4)]
    assert all(chunk.finish_reason is None for chunk in received), "the answer was still going"
    stream.close()
    assert stream.closed
    wait_for(lambda: disconnects(log_path) > before, "llama.cpp logs that the client went away")
    follow_up = list(model.stream(COUNTING, max_tokens=4, temperature=0.0))
    assert follow_up[-1].finish_reason is not None, "the server is free for the next request"


def test_a_client_leaving_jikji_mid_answer_makes_llama_cpp_stop(
    llama: tuple[EmbeddedLlamaServer, LLMSettings, Path], tmp_path: Path, kiwi: KiwiTokenizer
) -> None:
    server, llm, log_path = llama
    settings = Settings(data_dir=tmp_path / "data", embedding=EmbeddingSettings(model="hashing"), llm=llm)
    container = make_container(settings, kiwi, chat_model=OpenAIChatModel(llm, server.base_url))
    headers = {"Authorization": f"Bearer {bearer_token(container)}"}
    body: dict[str, Any] = {"messages": [{"role": "user", "content": LONG_QUESTION}], "stream": True}
    try:
        with serve(create_app(settings, container)) as base:
            before = disconnects(log_path)
            with httpx.stream(
                "POST", f"{base}/v1/chat/completions", json=body, headers=headers, timeout=120
            ) as response:
                assert response.status_code == 200
                contents = 0
                for line in response.iter_lines():
                    assert 'finish_reason": "stop' not in line, "the answer was still going"
                    contents += '"content": "' in line and '"content": ""' not in line
                    if contents == 2:
                        break
            wait_for(lambda: disconnects(log_path) > before, "llama.cpp logs that Jikji went away")
    finally:
        container.engine.dispose()
