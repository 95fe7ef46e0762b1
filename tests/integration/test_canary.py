"""Canary suite: group A's documents must not leak to group B in any form, through any endpoint.

Documents of group A carry unique tokens. A user of group B, an API key of that user and an admin
key narrowed to group B then call every route in the OpenAPI schema (with A's ids where a route takes
an id), ask the chat APIs near-copies of A's text, and probe ids. No canary token, title, file name,
id or count of A's documents may appear in any response body or header.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from core.models import Chunk, DocumentVersion
from tests.api_harness import ApiHarness

pytestmark = pytest.mark.integration

CANARY_TOKENS = ("QZXVORTEX", "블루펭귄프로젝트", "캐너리알파")
SECRET_TEXT = f"""# 캐너리알파 기밀 보고서

## 제1조(목적)

① {CANARY_TOKENS[1]}의 예산은 {CANARY_TOKENS[0]} 코드로 관리하며 총 987억원이다.
② 이 문서는 재무팀만 열람한다.
"""
OPEN_TEXT = """# 사내 식당 안내

점심은 11시 30분부터 13시까지 제공한다. 예산 관련 문의는 총무팀으로 한다.
"""
B_TEXT = """# 영업팀 주간 보고

이번 주 영업 예산 집행률은 80퍼센트이며 다음 주 고객 방문이 예정되어 있다.
"""
NEAR_COPIES = (
    "블루펭귄프로젝트 예산은 얼마야?",
    "QZXVORTEX 코드로 관리하는 예산 총액",
    "캐너리알파 기밀 보고서 제1조 내용 알려줘",
    "재무팀만 열람하는 문서의 예산 987억원",
)


@pytest.fixture
def world(api: ApiHarness) -> dict[str, Any]:
    """Group A's secret document, a public one, group B's own, and B's three kinds of caller."""
    secret_id = api.ingest(SECRET_TEXT, "canary_alpha_secret.md", groups=["재무팀"])
    api.ingest(OPEN_TEXT, "식당.md", public=True)
    api.ingest(B_TEXT, "영업보고.md", groups=["영업팀"])
    group_b = api.group("영업팀")
    finance_user = api.user("finance", groups=["재무팀"])
    b_user = api.user("sales", groups=["영업팀"])
    b_key = api.key(b_user, ["search", "chat", "documents:read"])
    admin = api.admin()
    narrowed_admin_key = api.key(admin, ["search", "chat", "documents:read"], group_ids=[group_b])
    with api.container.sessions() as session:
        version_ids = list(
            session.scalars(select(DocumentVersion.id).where(DocumentVersion.document_id == secret_id))
        )
        chunk_ids = list(session.scalars(select(Chunk.id).where(Chunk.document_id == secret_id)))
    # A conversation and message of the finance user, to probe with as well.
    conversation = api.client.post("/api/v1/conversations", json={}, headers=finance_user).json()["id"]
    message = api.client.post(
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": NEAR_COPIES[0]},
        headers=finance_user,
    ).json()
    assert any(s["document_id"] == secret_id for s in message["sources"]), "setup: finance must see it"
    secrets = [*CANARY_TOKENS, secret_id, *version_ids, *chunk_ids, conversation, message["id"]]
    return {
        "callers": {"user": b_user, "key": b_key, "narrowed-admin-key": narrowed_admin_key},
        "ids": {
            "document_id": secret_id,
            "version_id": version_ids[0],
            "chunk_id": chunk_ids[0],
            "conversation_id": conversation,
            "message_id": message["id"],
        },
        "secrets": secrets,
    }


def _leaks(response_text: str, headers: dict[str, str], secrets: list[str]) -> list[str]:
    haystack = _without_echo(response_text) + " ".join(f"{k}: {v}" for k, v in headers.items())
    return [s for s in secrets if s in haystack]


def _without_echo(response_text: str) -> str:
    """Drop the search response's echo of the caller's own query (the caller's words, not A's)."""
    try:
        body = json.loads(response_text)
    except ValueError:
        return response_text
    if isinstance(body, dict) and "results" in body and "query" in body:
        body.pop("query")
    return json.dumps(body, ensure_ascii=False)


def _fill(path: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ids:
            return ids[name]
        if name == "id" and "/documents" in path:
            return ids["document_id"]
        if name == "id" and "/conversations" in path:
            return ids["conversation_id"]
        if name == "id" and "/messages" in path:
            return ids["message_id"]
        return ids["document_id"]

    return re.sub(r"\{([^}]+)\}", value, path)


BODIES: dict[str, Any] = {
    "/api/v1/search": {"query": NEAR_COPIES[0], "k": 20},
    "/v1/chat/completions": {"messages": [{"role": "user", "content": NEAR_COPIES[1]}]},
}


def _body_for(path: str) -> Any:
    if path in BODIES:
        return BODIES[path]
    if path.endswith("/messages"):
        return {"content": NEAR_COPIES[2]}
    if path.endswith("/feedback"):
        return {"rating": -1, "comment": "x"}
    if path.endswith("/groups"):
        return {"groups": ["영업팀"], "is_public": True}
    return {"title": "x", "name": "x", "query": NEAR_COPIES[3]}


def test_no_route_leaks_group_a_to_group_b(api: ApiHarness, world: dict[str, Any]) -> None:
    schema = api.client.get("/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/auth/logout"):
            continue
        for method in operations:
            for caller, headers in world["callers"].items():
                url = _fill(path, world["ids"])
                body = _body_for(path) if method in {"post", "put", "patch"} else None
                response = api.client.request(method.upper(), url, json=body, headers=headers)
                assert response.status_code < 500, (method, url, caller, response.text)
                leaked = _leaks(response.text, dict(response.headers), world["secrets"])
                assert not leaked, (method, url, caller, leaked)
                checked += 1
    assert checked >= 30


def test_chat_with_near_copies_finds_nothing_of_group_a(api: ApiHarness, world: dict[str, Any]) -> None:
    for caller, headers in world["callers"].items():
        for question in NEAR_COPIES:
            response = api.client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": question}]},
                headers=headers,
            )
            assert response.status_code == 200, (caller, response.text)
            assert not _leaks(response.text, dict(response.headers), world["secrets"]), (caller, question)
            found = api.client.post("/api/v1/search", json={"query": question, "k": 50}, headers=headers)
            assert not _leaks(found.text, {}, world["secrets"]), (caller, question)


def test_probing_a_hidden_id_looks_exactly_like_a_missing_one(api: ApiHarness, world: dict[str, Any]) -> None:
    hidden = world["ids"]["document_id"]
    missing = "0" * 32
    for headers in world["callers"].values():
        for template in ("/api/v1/documents/{}", "/api/v1/documents/{}/download"):
            seen = api.client.get(template.format(hidden), headers=headers)
            absent = api.client.get(template.format(missing), headers=headers)
            assert (seen.status_code, seen.json()) == (absent.status_code, absent.json())
            assert seen.status_code in {403, 404}


def test_list_counts_do_not_include_group_a(api: ApiHarness, world: dict[str, Any]) -> None:
    for headers in world["callers"].values():
        listed = api.client.get("/api/v1/documents", headers=headers).json()
        assert listed["total"] == len(listed["items"]) == 2
        assert {item["display_name"] for item in listed["items"]} == {"식당.md", "영업보고.md"}
