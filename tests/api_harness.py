"""A test harness for the HTTP API: real app, real SQL, users/groups/keys made for each test."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.factory import create_app
from app.container import Container
from app.services import accounts
from core.models import Group, User
from core.settings import Settings
from ingest.pipeline import IngestRequest
from llm.client import ChatModel
from retrieval.tokenizer import KiwiTokenizer
from tests.support.containers import make_container

PASSWORD = "correct-horse-battery-9"


@dataclass
class ApiHarness:
    """Builds principals through the real account services and logs them in over HTTP."""

    container: Container
    client: httpx2.Client
    _counter: list[int] = field(default_factory=lambda: [0])

    def group(self, name: str) -> str:
        """The id of group ``name``, creating it when missing."""
        with self.container.sessions.begin() as session:
            existing = session.scalar(select(Group).where(Group.name == name))
            return existing.id if existing else accounts.create_group(session, name).id

    def user(self, username: str, *, role: str = "employee", groups: Sequence[str] = ()) -> dict[str, str]:
        """Create a user in ``groups`` (made when missing) and return its login headers."""
        for name in groups:
            self.group(name)
        with self.container.sessions.begin() as session:
            if session.scalar(select(User.id).where(User.username == username)) is None:
                accounts.create_user(session, username, PASSWORD, role=role, group_names=groups)
        return self.login(username)

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        """Log in over HTTP; the bearer headers of the new session."""
        response = self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def user_id(self, username: str) -> str:
        """The id of the existing user ``username``."""
        with self.container.sessions() as session:
            user_id = session.scalar(select(User.id).where(User.username == username))
        assert user_id is not None, username
        return user_id

    def session_for(self, user_id: str) -> dict[str, str]:
        """Bearer headers of a login session opened for ``user_id`` without a password (as the single
        sign-on callback opens one)."""
        with self.container.sessions.begin() as session:
            user = session.get(User, user_id)
            assert user is not None, user_id
            token, _ = accounts.start_session(session, user, timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    def me(self, headers: dict[str, str]) -> httpx2.Response:
        """``GET /api/v1/auth/me`` as the caller of ``headers``."""
        return self.client.get("/api/v1/auth/me", headers=headers)

    def admin(self) -> dict[str, str]:
        """Headers of an admin account."""
        return self.user("admin", role="admin")

    def key(
        self, headers: dict[str, str], scopes: Sequence[str], group_ids: Sequence[str] | None = None
    ) -> dict[str, str]:
        """Create an API key for the caller of ``headers``; the bearer headers of that key."""
        body: dict[str, object] = {"name": f"key-{self._counter[0]}", "scopes": list(scopes)}
        self._counter[0] += 1
        if group_ids is not None:
            body["group_ids"] = list(group_ids)
        response = self.client.post("/api/v1/keys", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['secret']}"}

    def ingest(self, text: str, filename: str, *, groups: Sequence[str] = (), public: bool = False) -> str:
        """Ingest a Markdown document directly through the pipeline; its document id."""
        group_ids = tuple(self.group(name) for name in groups)
        outcome = self.container.pipeline.ingest(
            IngestRequest(
                data=text.encode("utf-8"),
                filename=filename,
                source_key=f"test:{filename}",
                is_public=public,
                group_ids=group_ids,
            )
        )
        return outcome.document_id


@contextmanager
def served_api(
    settings: Settings, kiwi: KiwiTokenizer | None = None, *, chat_model: ChatModel | None = None
) -> Iterator[ApiHarness]:
    """The real API app over a fresh test container (:func:`make_container`) for ``settings``; the
    container is closed afterwards."""
    container = make_container(settings, kiwi, chat_model=chat_model)
    try:
        with TestClient(create_app(settings, container)) as client:
            yield ApiHarness(container, client)
    finally:
        container.close()
