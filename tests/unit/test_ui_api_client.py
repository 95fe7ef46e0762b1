"""The UI's HTTP client: errors in both languages, SSE parsing, downloads, uploads, no server imports."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import httpx
import pytest

from ui.api_client import ApiClient, ApiClientError, UploadFile, content_disposition_filename, parse_sse

UI = Path(__file__).resolve().parents[2] / "ui"


def client_for(handler: object) -> ApiClient:
    return ApiClient("http://api.test", token="jks_x", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_the_ui_imports_nothing_from_the_server_side() -> None:
    banned = ("app", "core", "ingest", "retrieval", "llm", "chromadb", "sqlalchemy")
    for path in UI.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in banned, f"{path.name} imports {name}"


def test_sse_events_are_parsed() -> None:
    lines = [
        ": ping",
        "event: delta",
        'data: {"text": "연차는 "}',
        "",
        "event: delta",
        'data: {"text": "15일 [1]"}',
        "",
        "event: done",
        'data: {"message": {"id": "m1", "grounded": true}}',
        "",
    ]
    events = list(parse_sse(lines))
    assert [e.kind for e in events] == ["delta", "delta", "done"]
    assert "".join(e.text for e in events) == "연차는 15일 [1]"
    assert events[-1].message == {"id": "m1", "grounded": True}


def test_an_sse_error_event_carries_both_messages() -> None:
    problem = {"status": 503, "code": "llm_unavailable", "message_ko": "모델 없음", "message_en": "No model"}
    events = list(parse_sse(["event: error", f"data: {json.dumps(problem)}", ""]))
    assert events[0].kind == "error" and events[0].error is not None
    assert (events[0].error.status, events[0].error.message("ko"), events[0].error.message("en")) == (
        503,
        "모델 없음",
        "No model",
    )


def test_ask_stream_sends_the_token_and_stream_flag() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = 'event: delta\ndata: {"text": "hi"}\n\nevent: done\ndata: {"message": {"id": "m"}}\n\n'
        return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})

    events = list(client_for(handler).ask_stream("c1", "질문"))
    assert [e.kind for e in events] == ["delta", "done"]
    assert seen[0].url.path == "/api/v1/conversations/c1/messages"
    assert json.loads(seen[0].content) == {"content": "질문", "stream": True}
    assert seen[0].headers["authorization"] == "Bearer jks_x"


def test_errors_become_api_client_errors() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404,
            json={"code": "not_found", "message_ko": "문서를 찾을 수 없습니다.", "message_en": "Not found."},
        )

    with pytest.raises(ApiClientError) as caught:
        client_for(handler).get_document("d1")
    assert (caught.value.status, caught.value.code, caught.value.message("ko")) == (
        404,
        "not_found",
        "문서를 찾을 수 없습니다.",
    )


def test_an_unreachable_server_is_reported_in_both_languages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ApiClientError) as caught:
        client_for(handler).list_conversations()
    assert caught.value.code == "unreachable"
    assert "연결할 수 없습니다" in caught.value.message("ko")
    with pytest.raises(ApiClientError):
        list(client_for(handler).ask_stream("c", "q"))


def test_download_uses_the_content_disposition_name() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/documents/d1/download"
        headers = {
            "content-disposition": "attachment; filename=\"x.md\"; filename*=UTF-8''%EC%B7%A8%EC%97%85.md"
        }
        return httpx.Response(200, content=b"# doc", headers=headers)

    download = client_for(handler).download_document("d1")
    assert (download.filename, download.content) == ("취업.md", b"# doc")
    assert content_disposition_filename('attachment; filename="plain.pdf"') == "plain.pdf"
    assert content_disposition_filename("inline") is None


def test_upload_sends_files_groups_and_the_public_flag() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = request.content
        assert body.count(b'name="files"') == 2
        assert (
            b'name="groups"\r\n\r\n\xec\x9d\xb8\xec\x82\xac\xed\x8c\x80,\xec\x98\x81\xec\x97\x85\xed\x8c\x80'
            in body
        )
        assert b'name="is_public"\r\n\r\nfalse' in body
        return httpx.Response(202, json={"jobs": [{"id": "j1"}, {"id": "j2"}]})

    files = [UploadFile("a.md", b"a", "text/markdown"), UploadFile("b.pdf", b"b")]
    jobs = client_for(handler).upload_documents(files, ["인사팀", "영업팀"], is_public=False)
    assert [j["id"] for j in jobs] == ["j1", "j2"]


def test_login_keeps_the_token_and_logout_forgets_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/login"):
            return httpx.Response(200, json={"token": "jks_new", "user": {"username": "kim"}})
        assert request.headers["authorization"] == "Bearer jks_new"
        return httpx.Response(204)

    client = ApiClient("http://api.test", transport=httpx.MockTransport(handler))
    assert client.login("kim", "pw")["username"] == "kim"
    assert client.token == "jks_new"
    client.logout()
    assert client.token is None and client.user is None
