"""Request bodies: authentication from the headers comes first (401 before a byte of the body is
read), then the per-route limit (413 problem+json before the body is read in full)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from app.container import Container
from app.services import accounts
from core.settings import ApiSettings, Settings
from tests.api_harness import PASSWORD, ApiHarness
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
        headers = ApiHarness(container, client).user("sender")  # type: ignore[arg-type]
        big = {"query": "가" * LIMIT, "k": 3}
        _assert_problem_413(client.post("/api/v1/search", json=big, headers=headers))
        assert client.post("/api/v1/search", json={"query": "휴가"}, headers=headers).status_code == 200
        # Anonymous: 401 whatever the body's size.
        assert client.post("/api/v1/search", json=big).status_code == 401
        assert client.post("/api/v1/search", json={"query": "휴가"}).status_code == 401


@pytest.fixture
def live_url(container: Container, small_limit: Settings) -> Iterator[str]:
    """The app behind a real uvicorn server in a thread (TestClient does not stream bodies)."""
    with serve(create_app(small_limit, container)) as url:
        yield url


def _make_user(container: Container, name: str, role: str = "employee") -> None:
    with container.sessions.begin() as session:
        accounts.create_user(session, name, PASSWORD, role=role)


def _login(url: str, name: str) -> dict[str, str]:
    response = httpx.post(f"{url}/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _headers_only(url: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Send a request's head and not one byte of the body it declares; the status and problem body.

    A server that waited for the body would never answer (the socket read would time out).
    """
    parts = urlsplit(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            piece = connection.recv(65536)
            if not piece:
                break
            received += piece
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else {}


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


FOUR_GB = str(4 * 1024**3)


def test_anonymous_bodies_get_401_before_they_are_read(live_url: str, container: Container) -> None:
    """The probe: a 2 MiB JSON from nobody was parsed (422) before the 401; a declared 4 GB upload
    from nobody kept the server waiting for its body."""
    json_head = {"Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)}
    for method, path in (("POST", "/api/v1/documents"), ("PUT", "/api/v1/documents/some-id/groups")):
        status, body = _headers_only(live_url, method, path, json_head)
        assert (status, body.get("code")) == (401, "unauthenticated"), (method, path)
        assert body["message_ko"] and body["message_en"]
    upload_head = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": FOUR_GB}
    assert _headers_only(live_url, "POST", "/api/v1/documents", upload_head)[0] == 401
    forged = {**upload_head, "Authorization": "Bearer jk_not-a-real-key"}
    assert _headers_only(live_url, "POST", "/api/v1/documents", forged)[0] == 401
    chunked = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    assert _headers_only(live_url, "POST", "/v1/chat/completions", chunked)[0] == 401


def test_the_upload_limit_is_only_for_uploaders_on_the_upload_route(
    live_url: str, container: Container
) -> None:
    _make_user(container, "reader")
    _make_user(container, "writer", role="admin")
    reader, writer = _login(live_url, "reader"), _login(live_url, "writer")
    upload_head = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": FOUR_GB}
    # A caller who may not upload gets the JSON limit on the upload route: refused from the headers.
    status, body = _headers_only(live_url, "POST", "/api/v1/documents", {**upload_head, **reader})
    assert (status, body["code"]) == (413, "body_too_large")
    # JSON routes under /api/v1/documents get the JSON limit, uploader or not.
    json_head = {"Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)}
    status, body = _headers_only(live_url, "PUT", "/api/v1/documents/x/groups", {**json_head, **writer})
    assert (status, body["code"]) == (413, "body_too_large")
    # An uploader's upload larger than the JSON limit goes through.
    document = ("규정.md", ("# 규정\n\n" + "연차 휴가 규정 본문. " * 2000).encode(), "text/markdown")
    assert len(document[1]) > LIMIT
    uploaded = httpx.post(
        f"{live_url}/api/v1/documents", files={"files": document}, headers=writer, timeout=60
    )
    assert uploaded.status_code == 202, uploaded.text


def test_login_takes_a_small_anonymous_body(live_url: str, container: Container) -> None:
    _make_user(container, "signer")
    assert _login(live_url, "signer")
    status, body = _headers_only(
        live_url,
        "POST",
        "/api/v1/auth/login",
        {"Content-Type": "application/json", "Content-Length": FOUR_GB},
    )
    assert (status, body["code"]) == (413, "body_too_large")


def test_chunked_body_is_cut_off_at_the_limit(live_url: str, container: Container) -> None:
    chunk = b" " * 1024
    total_chunks = 64 * 1024  # 64 MiB if it were read in full
    sent = [0]

    def body() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(total_chunks):
            sent[0] += 1
            yield chunk

    _make_user(container, "streamer")
    headers = {"Content-Type": "application/json", **_login(live_url, "streamer")}
    with httpx.Client(timeout=30) as client:
        response = client.post(f"{live_url}/api/v1/search", content=body(), headers=headers)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    _assert_problem_413(response)
    assert sent[0] < total_chunks  # the server stopped it long before the end


def test_chunked_body_under_the_limit_is_read(live_url: str, container: Container) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"query": '
        yield '"휴가"}'.encode()

    _make_user(container, "chunker")
    headers = {"Content-Type": "application/json", **_login(live_url, "chunker")}
    response = httpx.post(f"{live_url}/api/v1/search", content=body(), headers=headers)
    assert response.status_code == 200, response.text  # read in full and answered
