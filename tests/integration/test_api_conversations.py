"""Conversations over HTTP: persistence, streaming, regenerate, stop, feedback and permissions."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from app.api.factory import create_app
from app.container import Container
from core.models import Document, Message
from core.settings import Settings
from llm.client import StreamChunk, Usage
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.support.containers import make_container
from tests.support.servers import serve

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


LEAVE = """# 휴가 규정

## 제5조(연차휴가)

① 1년간 80퍼센트 이상 출근한 직원에게 15일의 유급휴가를 준다.
② 연차휴가는 사용 3일 전까지 신청한다.
"""

SECRET = """# 인수합병 검토

프로젝트 청룡의 인수 가격은 420억원으로 잠정 합의되었다.
"""


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse an SSE body into (event, data) pairs."""
    events = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        events.append((lines.get("event", "message"), json.loads(lines["data"])))
    return events


@pytest.fixture
def harness(api: ApiHarness) -> ApiHarness:
    api.ingest(LEAVE, "휴가규정.md", public=True)
    return api


def _new(harness: ApiHarness, headers: dict[str, str], title: str = "") -> str:
    response = harness.client.post("/api/v1/conversations", json={"title": title}, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_asking_stores_question_and_cited_answer(harness: ApiHarness) -> None:
    kim = harness.user("kim")
    conversation = _new(harness, kim)
    response = harness.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "연차휴가는 며칠이야?"},
        headers=kim,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["role"] == "assistant" and answer["status"] == "complete"
    assert answer["grounded"] is True and "[1]" in answer["content"]
    assert answer["sources"][0]["file_name"] == "휴가규정.md" and answer["sources"][0]["cited"] is True
    stored = harness.client.get(f"/api/v1/conversations/{conversation}", headers=kim).json()
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert stored["title"] == "연차휴가는 며칠이야?"
    assert stored["messages"][1]["latency_ms"] >= 0 and stored["messages"][1]["model"] == "fake-extractive"


def test_streamed_answer_arrives_as_deltas_then_the_stored_message(harness: ApiHarness) -> None:
    kim = harness.user("kim")
    conversation = _new(harness, kim)
    with harness.client.stream(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": "연차휴가 신청은 언제까지?", "stream": True},
        headers=kim,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.read().decode("utf-8"))
    kinds = [kind for kind, _ in events]
    assert kinds.count("delta") >= 2 and kinds[-1] == "done"
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    done = events[-1][1]["message"]
    assert done["content"].replace(" ", "") == streamed.replace(" ", "")
    assert done["sources"] and done["status"] == "complete"


def test_regenerate_replaces_the_last_answer(harness: ApiHarness) -> None:
    kim = harness.user("kim")
    conversation = _new(harness, kim)
    url = f"/api/v1/conversations/{conversation}"
    first = harness.client.post(f"{url}/messages", json={"content": "연차휴가 일수"}, headers=kim).json()
    again = harness.client.post(f"{url}/regenerate", json={}, headers=kim)
    assert again.status_code == 200
    messages = harness.client.get(url, headers=kim).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["id"] == again.json()["id"] != first["id"]


def test_follow_up_sees_the_conversation(harness: ApiHarness) -> None:
    kim = harness.user("kim")
    conversation = _new(harness, kim)
    url = f"/api/v1/conversations/{conversation}/messages"
    harness.client.post(url, json={"content": "연차휴가는 며칠이야?"}, headers=kim)
    harness.client.post(url, json={"content": "신청은 언제까지 해?"}, headers=kim)
    messages = harness.client.get(f"/api/v1/conversations/{conversation}", headers=kim).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]


def test_list_search_rename_delete(harness: ApiHarness) -> None:
    kim = harness.user("kim")
    first = _new(harness, kim, "연차 문의")
    _new(harness, kim, "출장비 문의")
    listed = harness.client.get("/api/v1/conversations", params={"q": "연차"}, headers=kim).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == first
    renamed = harness.client.patch(f"/api/v1/conversations/{first}", json={"title": "휴가"}, headers=kim)
    assert renamed.json()["title"] == "휴가"
    assert harness.client.delete(f"/api/v1/conversations/{first}", headers=kim).status_code == 204
    assert harness.client.get(f"/api/v1/conversations/{first}", headers=kim).status_code == 404
    assert harness.client.get("/api/v1/conversations", headers=kim).json()["total"] == 1


def test_another_users_conversation_is_indistinguishable_from_a_missing_one(harness: ApiHarness) -> None:
    kim, lee = harness.user("kim"), harness.user("lee")
    conversation = _new(harness, kim)
    answer = harness.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": "연차"}, headers=kim
    ).json()
    missing = harness.client.get("/api/v1/conversations/0" * 1, headers=lee)
    for method, path, body in [
        ("GET", f"/api/v1/conversations/{conversation}", None),
        ("PATCH", f"/api/v1/conversations/{conversation}", {"title": "x"}),
        ("DELETE", f"/api/v1/conversations/{conversation}", None),
        ("POST", f"/api/v1/conversations/{conversation}/messages", {"content": "연차"}),
        ("POST", f"/api/v1/conversations/{conversation}/regenerate", {}),
        ("POST", f"/api/v1/messages/{answer['id']}/feedback", {"rating": -1}),
    ]:
        response = harness.client.request(method, path, json=body, headers=lee)
        assert response.status_code == 404, path
        assert response.json()["message_en"] in {missing.json()["message_en"], "The message was not found."}
    assert harness.client.get("/api/v1/conversations", headers=lee).json()["total"] == 0


def test_feedback_is_one_per_user_and_message(harness: ApiHarness) -> None:
    kim = harness.user("kim")
    conversation = _new(harness, kim)
    answer = harness.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": "연차"}, headers=kim
    ).json()
    url = f"/api/v1/messages/{answer['id']}/feedback"
    assert harness.client.post(url, json={"rating": 1}, headers=kim).status_code == 200
    again = harness.client.post(url, json={"rating": -1, "comment": "출처가 틀림"}, headers=kim)
    assert again.json() == {"message_id": answer["id"], "rating": -1, "comment": "출처가 틀림"}
    stored = harness.client.get(f"/api/v1/conversations/{conversation}", headers=kim).json()
    assert stored["messages"][1]["feedback"] == -1
    assert harness.client.post(url, json={"rating": 5}, headers=kim).status_code == 422


def test_history_hides_sources_of_documents_no_longer_visible(harness: ApiHarness) -> None:
    park = harness.user("park", groups=["전략기획"])
    document_id = harness.ingest(SECRET, "인수합병.md", groups=["전략기획"])
    conversation = _new(harness, park)
    answer = harness.client.post(
        f"/api/v1/conversations/{conversation}/messages", json={"content": "청룡 인수 가격"}, headers=park
    ).json()
    assert any(s["document_id"] == document_id for s in answer["sources"])
    with harness.container.sessions.begin() as session:
        document = session.get(Document, document_id)
        assert document is not None
        document.groups = []
    harness.container.index.permissions_changed()
    stored = harness.client.get(f"/api/v1/conversations/{conversation}", headers=park).json()
    assert all(s["document_id"] != document_id for s in stored["messages"][1]["sources"])


class SlowModel:
    """Streams many tokens slowly and records whether its stream was closed."""

    model = "slow-fake"

    def __init__(self) -> None:
        self.closed = threading.Event()

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: Sequence[str] = ()
    ) -> Iterator[StreamChunk]:
        del messages, temperature, stop
        try:
            for i in range(max_tokens):
                time.sleep(0.05)
                yield StreamChunk(text=f"토큰{i} ")
            yield StreamChunk(finish_reason="length", usage=Usage(10, max_tokens))
        finally:
            self.closed.set()


def test_disconnecting_stops_the_model_and_keeps_what_was_said(
    settings: Settings, kiwi: KiwiTokenizer
) -> None:
    model = SlowModel()
    container: Container = make_container(settings, kiwi, chat_model=model)
    try:
        with (
            serve(create_app(settings, container)) as base,
            httpx2.Client(base_url=base, timeout=30) as client,
        ):
            harness = ApiHarness(container, client)
            harness.ingest(LEAVE, "휴가규정.md", public=True)
            kim = harness.user("kim")
            conversation = _new(harness, kim)
            with client.stream(
                "POST",
                f"/api/v1/conversations/{conversation}/messages",
                json={"content": "연차휴가", "stream": True},
                headers=kim,
            ) as response:
                lines = response.iter_lines()
                while "delta" not in next(lines):
                    pass
            assert model.closed.wait(10), "the upstream stream was not closed after the disconnect"
            deadline = time.monotonic() + 10
            stored: list[Message] = []
            while time.monotonic() < deadline and not stored:
                with container.sessions() as session:
                    stored = list(session.scalars(select(Message).where(Message.role == "assistant")))
                time.sleep(0.1)
            assert stored and stored[0].status == "stopped"
            assert stored[0].content.startswith("토큰0")
    finally:
        container.engine.dispose()
