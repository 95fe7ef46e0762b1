"""An internal tool's view: a real server on a port, plain ``httpx`` and the official ``openai`` client.

The tool gets an API key from an admin, uploads a file, waits for its job, searches, and asks through
the OpenAI-compatible API, exactly as it would in production.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.api.factory import create_app
from app.container import Container
from app.services import accounts
from core.settings import Settings
from tests.api_harness import PASSWORD
from tests.support.servers import serve

pytestmark = pytest.mark.integration

POLICY = "# 출장 규정\n\n## 제7조(일비)\n\n국내 출장 일비는 하루 3만원이다.\n"


@pytest.fixture
def server(settings: Settings, container: Container) -> Iterator[str]:
    """The API served by uvicorn in a thread; its base URL."""
    with container.sessions.begin() as session:
        accounts.create_user(session, "admin", PASSWORD, role="admin")
    with serve(create_app(settings, container)) as base:
        yield base


def test_internal_tool_with_an_api_key(server: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=server, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        created = http.post(
            "/api/v1/keys",
            json={"name": "사내 봇", "scopes": ["search", "chat", "documents:read", "documents:write"]},
            headers=admin,
        )
        assert created.status_code == 201
        key = created.json()["secret"]
        tool = {"Authorization": f"Bearer {key}"}
        upload = http.post(
            "/api/v1/documents",
            files=[("files", ("출장규정.md", POLICY.encode(), "text/markdown"))],
            data={"is_public": "true"},
            headers=tool,
        )
        assert upload.status_code == 202, upload.text
        job_id = upload.json()["jobs"][0]["id"]
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline and status not in {"succeeded", "failed"}:
            status = http.get(f"/api/v1/jobs/{job_id}", headers=tool).json()["status"]
            time.sleep(0.2)
        assert status == "succeeded"
        found = http.post("/api/v1/search", json={"query": "출장 일비 얼마"}, headers=tool).json()
        assert found["results"][0]["file_name"] == "출장규정.md"
        assert http.get("/api/v1/keys", headers=tool).status_code == 403  # no `keys` scope
        listed = http.get("/api/v1/keys", headers=admin).json()["items"][0]
        assert "secret" not in listed and key not in str(listed)

    sdk = openai.OpenAI(base_url=f"{server}/v1", api_key=key, max_retries=0)
    reply = sdk.chat.completions.create(
        model="jikji", messages=[{"role": "user", "content": "국내 출장 일비는?"}]
    )
    assert "3만원" in (reply.choices[0].message.content or "")
    assert reply.model_extra is not None and reply.model_extra["sources"][0]["cited"] is True
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in sdk.chat.completions.create(
            model="jikji", messages=[{"role": "user", "content": "국내 출장 일비는?"}], stream=True
        )
        if chunk.choices
    )
    assert "3만원" in streamed

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server}/v1", api_key="jk_wrong", max_retries=0).models.list()
    with httpx.Client(base_url=server, timeout=30) as http:
        assert http.delete(f"/api/v1/keys/{listed['id']}", headers=admin).status_code == 204
    with pytest.raises(openai.AuthenticationError):
        sdk.models.list()
