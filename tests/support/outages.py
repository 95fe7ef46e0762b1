"""A served app with one public document and a signed-in employee and admin, for fault drills
(``tests/integration/test_outages.py`` and ``python -m bench.faults``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from app.api.factory import create_app
from app.container import Container
from app.services import accounts
from core.settings import Settings
from ingest.pipeline import IngestRequest
from tests.api_harness import PASSWORD
from tests.integration.llm_stack import WAIT_S
from tests.support.servers import serve

DOCUMENT = "# 경조사 지원\n\n본인 결혼 시 경조사비 50만 원과 특별휴가 5일을 지원한다.\n"
QUESTION = "결혼하면 경조사비는 얼마인가요?"


class Client:
    """A signed-in employee (and an admin) talking to the served app over HTTP."""

    def __init__(self, base: str, container: Container) -> None:
        self.base = base
        with container.sessions.begin() as session:
            accounts.create_user(session, "kim", PASSWORD)
            accounts.create_user(session, "boss", PASSWORD, role="admin")
        self.employee = self._login("kim")
        self.admin = self._login("boss")

    def _login(self, username: str) -> dict[str, str]:
        body = {"username": username, "password": PASSWORD}
        response = httpx.post(f"{self.base}/api/v1/auth/login", json=body, timeout=WAIT_S)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        """POST ``body`` as JSON (as the employee unless ``headers`` say otherwise)."""
        return httpx.post(f"{self.base}{path}", json=body, headers=headers or self.employee, timeout=WAIT_S)

    def complete(self, *, stream: bool = False) -> httpx.Response:
        """The question through ``/v1/chat/completions``."""
        body = {"messages": [{"role": "user", "content": QUESTION}], "stream": stream}
        return self.post("/v1/chat/completions", body)

    def conversation(self) -> str:
        """A new conversation's id."""
        return str(self.post("/api/v1/conversations", {}).json()["id"])

    def ask(self, conversation: str, *, stream: bool = False) -> httpx.Response:
        """The question in ``conversation``."""
        body = {"content": QUESTION, "stream": stream}
        return self.post(f"/api/v1/conversations/{conversation}/messages", body)

    def search(self) -> httpx.Response:
        """The question through ``/api/v1/search``, as the admin."""
        return self.post("/api/v1/search", {"query": QUESTION}, self.admin)

    def health(self) -> httpx.Response:
        """``GET /health`` (no credentials)."""
        return httpx.get(f"{self.base}/health", timeout=WAIT_S)


def served(settings: Settings, container: Container) -> Iterator[Client]:
    """Ingest the document, serve the app with uvicorn and yield a signed-in client (once)."""
    container.pipeline.ingest(IngestRequest(data=DOCUMENT.encode(), filename="경조사.md", is_public=True))
    with serve(create_app(settings, container)) as base:
        yield Client(base, container)
