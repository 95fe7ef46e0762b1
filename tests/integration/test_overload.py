"""Overload against the real API over HTTP: at most ``max_active`` answers run and ``max_waiting`` wait;
one more request is refused at once with 503, ``Retry-After`` and a Korean and an English message,
having stored nothing, while every admitted request is answered and stored once a turn frees up.

The model is a fake held at a gate, so which requests run, wait and are refused is decided by the test,
not by timing. SQLite and PostgreSQL (what is stored for admitted and refused requests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.api.factory import create_app
from app.container import Container
from app.services.admission import AnswerQueue
from core.models import Message
from core.settings import AnswerQueueSettings, AuthSettings, Settings
from ingest.pipeline import IngestRequest
from llm.client import StreamChunk
from llm.fake import ExtractiveFakeModel
from retrieval.tokenizer import KiwiTokenizer
from tests.integration.llm_stack import WAIT_S, bearer_token, wait_for
from tests.support.containers import make_container
from tests.support.servers import serve

pytestmark = pytest.mark.integration

DOCUMENT = "# 경조사 지원\n\n본인 결혼 시 경조사비 50만 원과 특별휴가 5일을 지원한다.\n"
QUESTION = "결혼하면 경조사비는 얼마인가요?"


class GatedModel:
    """The extractive fake, but every answer waits at a gate the test opens."""

    model = "fake-gated"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self._inner = ExtractiveFakeModel()

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
    ) -> Iterator[StreamChunk]:
        """Wait for the gate, then answer like the extractive fake."""
        self.gate.wait(WAIT_S)
        yield from self._inner.stream(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    return settings_on_each_database.model_copy(
        update={
            "answer_queue": AnswerQueueSettings(max_active=2, max_waiting=2),
            "auth": AuthSettings(rate_limit_per_minute=10_000, chat_rate_limit_per_minute=10_000),
        }
    )


@pytest.fixture
def stack(settings: Settings, kiwi: KiwiTokenizer) -> Iterator[tuple[str, Container, GatedModel, FastAPI]]:
    model = GatedModel()
    container = make_container(settings, kiwi, chat_model=model)
    container.pipeline.ingest(IngestRequest(data=DOCUMENT.encode(), filename="경조사.md", is_public=True))
    app = create_app(settings, container)
    try:
        with serve(app) as base:
            yield base, container, model, app
    finally:
        model.gate.set()
        container.close()


def ask(base: str, headers: dict[str, str], conversation: str, *, stream: bool = False) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/conversations/{conversation}/messages",
        json={"content": QUESTION, "stream": stream},
        headers=headers,
        timeout=WAIT_S,
    )


def complete(base: str, headers: dict[str, str], *, stream: bool = False) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": QUESTION}], "stream": stream}
    return httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers, timeout=WAIT_S)


def new_conversation(base: str, headers: dict[str, str]) -> str:
    response = httpx.post(f"{base}/api/v1/conversations", json={}, headers=headers, timeout=WAIT_S)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def stored(container: Container, conversation: str) -> list[tuple[str, str]]:
    with container.sessions() as session:
        rows = session.execute(
            select(Message.role, Message.status)
            .where(Message.conversation_id == conversation)
            .order_by(Message.created_at, Message.id)
        )
        return [(role, status) for role, status in rows.all()]


def assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["Retry-After"]) >= 1
    body: dict[str, Any] = response.json()
    assert body["code"] == "server_busy"
    assert "잠시 후" in body["message_ko"] and "try again" in body["message_en"]


def test_requests_beyond_the_queue_are_refused_at_once_and_store_nothing(
    stack: tuple[str, Container, GatedModel, FastAPI],
) -> None:
    base, container, model, app = stack
    queue: AnswerQueue = app.state.answer_queue
    headers = {"Authorization": f"Bearer {bearer_token(container)}"}
    conversations = [new_conversation(base, headers) for _ in range(3)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        running: list[Future[httpx.Response]] = [
            pool.submit(ask, base, headers, conversations[0]),
            pool.submit(complete, base, headers, stream=True),
        ]
        wait_for(lambda: queue.state().active == 2, "two answers run")
        running += [
            pool.submit(ask, base, headers, conversations[1], stream=True),
            pool.submit(complete, base, headers),
        ]
        wait_for(lambda: queue.state().waiting == 2, "two more wait")

        for refused in (
            ask(base, headers, conversations[2]),
            ask(base, headers, conversations[2], stream=True),
            complete(base, headers),
            complete(base, headers, stream=True),
        ):
            assert_busy(refused)
        assert stored(container, conversations[2]) == [], "a refused question is not stored"

        model.gate.set()
        answered = [future.result(timeout=WAIT_S) for future in running]
    assert [response.status_code for response in answered] == [200, 200, 200, 200]
    assert "event: done" in answered[2].text and "[DONE]" in answered[1].text
    for conversation in conversations[:2]:
        assert stored(container, conversation) == [("user", "complete"), ("assistant", "complete")]
    assert queue.state().active == 0 and queue.state().waiting == 0
    assert ask(base, headers, conversations[2]).status_code == 200, "a free queue admits again"


def test_anonymous_requests_do_not_take_a_turn(stack: tuple[str, Container, GatedModel, FastAPI]) -> None:
    base, _, _, app = stack
    queue: AnswerQueue = app.state.answer_queue
    assert complete(base, {"Authorization": "Bearer nope"}).status_code == 401
    assert queue.state().active == 0
