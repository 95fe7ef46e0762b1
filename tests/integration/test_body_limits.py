"""Request bodies over the limit get 413 problem+json before they are read in full."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from app.container import Container
from core.settings import ApiSettings, Settings
from tests.support.servers import serve

pytestmark = pytest.mark.integration

LIMIT = 4096


@pytest.fixture
def small_limit(settings: Settings) -> Settings:
    return settings.model_copy(update={"api": ApiSettings(max_json_bytes=LIMIT)})


def _assert_problem_413(response: Any) -> None:
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "body_too_large" and body["status"] == 413
    assert body["message_ko"] and body["message_en"]


def test_declared_content_length_over_the_limit(container: Container, small_limit: Settings) -> None:
    with TestClient(create_app(small_limit, container)) as client:
        big = {"query": "가" * LIMIT, "k": 3}
        response = client.post("/api/v1/search", json=big)  # no auth needed to be refused
        _assert_problem_413(response)
        # A body under the limit goes through to authentication as usual.
        assert client.post("/api/v1/search", json={"query": "휴가"}).status_code == 401


@pytest.fixture
def live_url(container: Container, small_limit: Settings) -> Iterator[str]:
    """The app behind a real uvicorn server in a thread (TestClient does not stream bodies)."""
    with serve(create_app(small_limit, container)) as url:
        yield url


def test_chunked_body_is_cut_off_at_the_limit(live_url: str) -> None:
    chunk = b" " * 1024
    total_chunks = 64 * 1024  # 64 MiB if it were read in full
    sent = [0]

    def body() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(total_chunks):
            sent[0] += 1
            yield chunk

    with httpx.Client(timeout=30) as client:
        response = client.post(
            f"{live_url}/api/v1/search", content=body(), headers={"Content-Type": "application/json"}
        )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _assert_problem_413(response)
    assert sent[0] < total_chunks  # the server stopped it long before the end


def test_chunked_body_under_the_limit_is_read(live_url: str) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"query": '
        yield '"휴가"}'.encode()

    response = httpx.post(
        f"{live_url}/api/v1/search", content=body(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401  # read in full, then refused for lack of a token
