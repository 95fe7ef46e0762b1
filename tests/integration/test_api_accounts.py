"""Accounts over HTTP: sessions, users, groups, API keys, usage, audit, the dashboard and the CLI."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from app.api.factory import create_app
from app.api.ratelimit import SqlRateLimiter
from app.auth.tokens import hash_secret
from app.cli import main as cli_main
from app.container import Container
from app.services import accounts
from app.services.audit import record_usage
from core.db import utcnow
from core.models import ApiKey, AuthSession, Conversation, Feedback, Message
from core.settings import AuthSettings, Settings
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import PASSWORD, ApiHarness
from tests.conftest import point_cli_at
from tests.support.containers import make_container

pytestmark = pytest.mark.integration

MID_WINDOW = 1_800_000_030.0  # 30 s into a one-minute window


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


TOKEN_A = "청록고래암호7731"  # appears only in group A's document


def _search_text(api: ApiHarness, headers: dict[str, str], query: str) -> str:
    response = api.client.post("/api/v1/search", json={"query": query, "k": 10}, headers=headers)
    assert response.status_code == 200, response.text
    return json.dumps(response.json()["results"], ensure_ascii=False)  # not the echoed query


# --- sessions ------------------------------------------------------------------------------------


def test_login_me_and_logout(api: ApiHarness) -> None:
    headers = api.user("kim", groups=["영업팀"])
    me = api.me(headers)
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["username"] == "kim"
    assert [g["name"] for g in body["user"]["groups"]] == ["영업팀"]
    assert body["scopes"] == ["chat", "documents:read", "keys", "search"]
    assert body["api_key_id"] is None
    assert body["user"]["must_change_password"] is False
    assert "password" not in json.dumps(body).replace("must_change_password", "")

    assert api.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    after = api.me(headers)
    assert after.status_code == 401
    assert after.json()["code"] == "unauthenticated"
    assert after.headers["content-type"].startswith("application/problem+json")


def test_missing_or_garbage_token_is_401(api: ApiHarness) -> None:
    assert api.client.get("/api/v1/auth/me").status_code == 401
    for secret in ("jks_nope", "jk_nope", "nothing"):
        response = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_expired_session_is_rejected(api: ApiHarness) -> None:
    headers = api.user("lee")
    assert api.me(headers).status_code == 200
    token = headers["Authorization"].removeprefix("Bearer ")
    with api.container.sessions.begin() as session:
        session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == hash_secret(token))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    assert api.me(headers).status_code == 401


def test_session_token_is_stored_hashed(api: ApiHarness) -> None:
    headers = api.user("park")
    token = headers["Authorization"].removeprefix("Bearer ")
    with api.container.engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text("SELECT * FROM auth_sessions"))]
    assert rows
    assert token not in repr(rows)
    assert any(hash_secret(token) in row for row in rows)


def test_wrong_password_and_unknown_user_get_the_same_401(api: ApiHarness) -> None:
    api.user("choi")
    wrong = api.client.post("/api/v1/auth/login", json={"username": "choi", "password": "wrong-password-1"})
    unknown = api.client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password-1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"
    # User names are case-insensitive.
    assert (
        api.client.post("/api/v1/auth/login", json={"username": " CHOI ", "password": PASSWORD}).status_code
        == 200
    )


def hold_the_clock(app: Any) -> None:
    """Keep SQL-shared limiters mid-window: across a window boundary they may let one more through."""
    for limiter in app.state.limiters.values():
        if isinstance(limiter, SqlRateLimiter):
            limiter.clock = lambda: MID_WINDOW


def test_login_attempts_are_rate_limited(api: ApiHarness, settings: Settings) -> None:
    hold_the_clock(api.client.app)  # type: ignore[attr-defined]  # a TestClient
    api.user("jung")  # one attempt: the successful login
    limit = settings.auth.login_attempts_per_minute
    for _ in range(limit - 1):
        response = api.client.post(
            "/api/v1/auth/login", json={"username": "jung", "password": "bad-password-00"}
        )
        assert response.status_code == 401
    blocked = api.client.post("/api/v1/auth/login", json={"username": "jung", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    # Another user name is not blocked.
    api.user("han")


def test_requests_are_rate_limited_per_user_and_key(container: Container, settings: Settings) -> None:
    strict = settings.model_copy(update={"auth": AuthSettings(rate_limit_per_minute=5)})
    with TestClient(create_app(strict, container)) as client:
        hold_the_clock(client.app)
        api = ApiHarness(container, client)  # type: ignore[arg-type]
        headers = api.user("busy")
        key_headers = api.key(headers, ["search"])  # the creation counted against the user
        for _ in range(4):
            assert api.me(headers).status_code == 200
        limited = api.me(headers)
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # The key counts against its owner too: more keys do not multiply the limit.
        assert api.me(key_headers).status_code == 429


def test_two_api_processes_share_the_login_limit(
    container: Container, settings: Settings, kiwi: KiwiTokenizer
) -> None:
    """Two apps on one database (two processes behind a balancer) grant one login limit between them."""
    shared = settings.model_copy(
        update={"auth": AuthSettings(login_attempts_per_minute=4, rate_limit_store="database")}
    )
    other = make_container(shared, kiwi)
    try:
        with (
            TestClient(create_app(shared, container)) as first,
            TestClient(create_app(shared, other)) as second,
        ):
            hold_the_clock(first.app)
            hold_the_clock(second.app)
            statuses = [
                client.post(
                    "/api/v1/auth/login", json={"username": "lee", "password": "bad-password-00"}
                ).status_code
                for client in (first, second, first, second, first, second)
            ]
    finally:
        other.close()
    assert statuses == [401, 401, 401, 401, 429, 429]


# --- users ---------------------------------------------------------------------------------------


def test_admin_creates_lists_reads_and_changes_users(api: ApiHarness) -> None:
    admin = api.admin()
    api.group("인사팀")
    api.group("재무팀")
    created = api.client.post(
        "/api/v1/users",
        json={
            "username": "Yoon",
            "password": "a-long-enough-pw-1",
            "role": "employee",
            "display_name": "윤서연",
            "groups": ["인사팀"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["username"] == "yoon"
    assert user["display_name"] == "윤서연"
    assert [g["name"] for g in user["groups"]] == ["인사팀"]
    assert "password" not in json.dumps(user).replace("must_change_password", "")
    assert api.login("yoon", "a-long-enough-pw-1")

    duplicate = api.client.post(
        "/api/v1/users", json={"username": "YOON", "password": "a-long-enough-pw-1"}, headers=admin
    )
    assert duplicate.status_code == 409
    weak = api.client.post("/api/v1/users", json={"username": "weak", "password": "short"}, headers=admin)
    assert weak.status_code == 422
    unknown_group = api.client.post(
        "/api/v1/users",
        json={"username": "typo", "password": "a-long-enough-pw-1", "groups": ["없는팀"]},
        headers=admin,
    )
    assert unknown_group.status_code == 422

    page = api.client.get("/api/v1/users", params={"q": "서연"}, headers=admin).json()
    assert page["total"] == 1 and page["items"][0]["id"] == user["id"]
    everyone = api.client.get("/api/v1/users", params={"limit": 1}, headers=admin).json()
    assert everyone["total"] == 2 and len(everyone["items"]) == 1

    assert api.client.get(f"/api/v1/users/{user['id']}", headers=admin).json()["username"] == "yoon"
    assert api.client.get("/api/v1/users/nope", headers=admin).status_code == 404

    patched = api.client.patch(
        f"/api/v1/users/{user['id']}",
        json={"display_name": "윤 팀장", "role": "admin", "groups": ["재무팀", "인사팀"]},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["display_name"] == "윤 팀장" and body["role"] == "admin"
    assert [g["name"] for g in body["groups"]] == ["인사팀", "재무팀"]

    events = api.client.get("/api/v1/audit", params={"target_id": user["id"]}, headers=admin).json()
    actions = [e["action"] for e in events["items"]]
    assert actions.count("user.create") == 1 and actions.count("user.update") == 1
    assert "a-long-enough-pw-1" not in json.dumps(events)


def test_password_change_ends_sessions(api: ApiHarness) -> None:
    admin = api.admin()
    headers = api.user("seo")
    user_id = api.user_id("seo")
    response = api.client.patch(
        f"/api/v1/users/{user_id}", json={"password": "brand-new-pass-42"}, headers=admin
    )
    assert response.status_code == 200
    assert api.me(headers).status_code == 401
    assert api.login("seo", "brand-new-pass-42")
    events = api.client.get("/api/v1/audit", params={"action": "user.update"}, headers=admin).json()
    assert events["items"][0]["detail"]["changed"] == ["password"]
    assert "brand-new-pass-42" not in json.dumps(events)


def test_deactivating_ends_sessions_and_revokes_keys(api: ApiHarness) -> None:
    admin = api.admin()
    headers = api.user("kang")
    key_headers = api.key(headers, ["search"])
    user_id = api.user_id("kang")
    response = api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert api.me(headers).status_code == 401
    assert api.me(key_headers).status_code == 401
    denied = api.client.post("/api/v1/auth/login", json={"username": "kang", "password": PASSWORD})
    assert denied.status_code == 401
    # Reactivating lets the user sign in again, but revoked keys stay revoked.
    api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": True}, headers=admin)
    assert api.login("kang")
    assert api.me(key_headers).status_code == 401


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(api: ApiHarness) -> None:
    admin = api.admin()
    admin_id = api.user_id("admin")
    for change in ({"role": "employee"}, {"is_active": False}):
        response = api.client.patch(f"/api/v1/users/{admin_id}", json=change, headers=admin)
        assert response.status_code == 409, change
        assert response.json()["code"] == "conflict"
    assert api.me(admin).json()["user"]["role"] == "admin"
    # With a second admin the first may step down.
    api.user("deputy", role="admin")
    response = api.client.patch(f"/api/v1/users/{admin_id}", json={"role": "employee"}, headers=admin)
    assert response.status_code == 200
    assert api.me(admin).json()["scopes"] == ["chat", "documents:read", "keys", "search"]


def test_employees_get_403_on_admin_endpoints(api: ApiHarness) -> None:
    employee = api.user("staff")
    some_id = api.user_id("staff")
    calls = [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", {"username": "x1", "password": "a-long-enough-pw-1"}),
        ("GET", f"/api/v1/users/{some_id}", None),
        ("PATCH", f"/api/v1/users/{some_id}", {"role": "admin"}),
        ("POST", "/api/v1/groups", {"name": "해커팀"}),
        ("PATCH", "/api/v1/groups/any", {"name": "x"}),
        ("DELETE", "/api/v1/groups/any", None),
        ("GET", "/api/v1/usage", None),
        ("GET", "/api/v1/audit", None),
        ("GET", "/api/v1/admin/stats", None),
    ]
    for method, path, body in calls:
        response = api.client.request(method, path, json=body, headers=employee)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "insufficient_scope"
    assert api.client.get("/api/v1/keys", params={"all": "true"}, headers=employee).status_code == 403
    assert api.me(employee).json()["user"]["role"] == "employee"


# --- groups --------------------------------------------------------------------------------------


def test_group_crud_and_who_sees_which_groups(api: ApiHarness) -> None:
    admin = api.admin()
    created = api.client.post("/api/v1/groups", json={"name": "연구소", "description": "R&D"}, headers=admin)
    assert created.status_code == 201
    lab = created.json()
    assert lab["member_count"] == 0
    assert api.client.post("/api/v1/groups", json={"name": "연구소"}, headers=admin).status_code == 409
    member = api.user("researcher", groups=["연구소", "기획팀"])
    api.group("비밀팀")

    mine = api.client.get("/api/v1/groups", headers=member).json()
    assert sorted(g["name"] for g in mine["items"]) == ["기획팀", "연구소"]
    everything = api.client.get("/api/v1/groups", headers=admin).json()
    assert sorted(g["name"] for g in everything["items"]) == ["기획팀", "비밀팀", "연구소"]
    by_name = {g["name"]: g for g in everything["items"]}
    assert by_name["연구소"]["member_count"] == 1

    renamed = api.client.patch(f"/api/v1/groups/{lab['id']}", json={"name": "기술연구소"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == "기술연구소"
    clash = api.client.patch(f"/api/v1/groups/{lab['id']}", json={"name": "비밀팀"}, headers=admin)
    assert clash.status_code == 409
    assert api.client.patch("/api/v1/groups/nope", json={"name": "x"}, headers=admin).status_code == 404

    assert api.client.delete(f"/api/v1/groups/{lab['id']}", headers=admin).status_code == 204
    assert api.client.delete(f"/api/v1/groups/{lab['id']}", headers=admin).status_code == 404
    groups_now = api.me(member).json()["user"]["groups"]
    assert [g["name"] for g in groups_now] == ["기획팀"]

    actions = [
        e["action"]
        for e in api.client.get("/api/v1/audit", params={"target_id": lab["id"]}, headers=admin).json()[
            "items"
        ]
    ]
    assert sorted(actions) == ["group.create", "group.delete", "group.update"]


def test_deleting_a_group_hides_its_documents_at_once(api: ApiHarness) -> None:
    admin = api.admin()
    member = api.user("auditor", groups=["감사팀"])
    api.ingest(f"# 감사 지침\n\n내부 감사 암호는 {TOKEN_A} 입니다.\n", "감사.md", groups=["감사팀"])
    assert TOKEN_A in _search_text(api, member, f"감사 암호 {TOKEN_A}")
    group_id = api.group("감사팀")
    assert api.client.delete(f"/api/v1/groups/{group_id}", headers=admin).status_code == 204
    assert TOKEN_A not in _search_text(api, member, f"감사 암호 {TOKEN_A}")
    assert TOKEN_A in _search_text(api, admin, f"감사 암호 {TOKEN_A}")


# --- API keys ------------------------------------------------------------------------------------


def test_key_secret_is_shown_once_and_stored_hashed(api: ApiHarness) -> None:
    headers = api.user("tool-owner")
    created = api.client.post(
        "/api/v1/keys", json={"name": "사내 봇", "scopes": ["search", "chat"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    key = created.json()["key"]
    assert secret.startswith("jk_") and secret.startswith(key["prefix"])
    assert key["status"] == "active" and key["scopes"] == ["chat", "search"]
    assert key["group_ids"] is None

    listing = api.client.get("/api/v1/keys", headers=headers)
    assert listing.status_code == 200
    assert listing.json()["total"] == 1
    assert secret not in listing.text
    assert listing.json()["items"][0]["id"] == key["id"]

    with api.container.engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text("SELECT * FROM api_keys"))]
    assert len(rows) == 1
    assert secret not in repr(rows)
    assert hash_secret(secret) in rows[0]

    me = api.me({"Authorization": f"Bearer {secret}"}).json()
    assert me["api_key_id"] == key["id"] and me["scopes"] == ["chat", "search"]

    admin = api.admin()
    audit = api.client.get("/api/v1/audit", params={"action": "key.create"}, headers=admin)
    assert audit.json()["total"] == 1
    assert secret not in audit.text


def test_search_only_key_cannot_chat_or_touch_documents(api: ApiHarness) -> None:
    headers = api.user("bot-owner")
    key = api.key(headers, ["search"])
    assert api.client.post("/api/v1/search", json={"query": "휴가"}, headers=key).status_code == 200
    chat = api.client.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": "휴가는?"}]}, headers=key
    )
    assert chat.status_code == 403
    assert chat.json()["code"] == "insufficient_scope"
    assert api.client.get("/api/v1/conversations", headers=key).status_code == 403
    if "/api/v1/documents" not in api.client.get("/openapi.json").json()["paths"]:
        pytest.skip("the documents router is not registered yet")
    documents = api.client.get("/api/v1/documents", headers=key)
    assert documents.status_code == 403
    upload = api.client.post(
        "/api/v1/documents", files={"files": ("a.md", b"# a\n\nb\n", "text/markdown")}, headers=key
    )
    assert upload.status_code == 403


def test_key_narrowed_to_group_b_cannot_see_group_a(api: ApiHarness) -> None:
    owner = api.user("both", groups=["A팀", "B팀"])
    api.ingest(f"# A 문서\n\nA팀 전용 코드는 {TOKEN_A} 이다.\n", "a.md", groups=["A팀"])
    api.ingest("# B 문서\n\nB팀 안내문이다. 전용 코드는 없다.\n", "b.md", groups=["B팀"])
    query = f"전용 코드 {TOKEN_A}"
    assert TOKEN_A in _search_text(api, owner, query)
    b_key = api.key(owner, ["search", "keys"], group_ids=[api.group("B팀")])
    narrowed = _search_text(api, b_key, query)
    assert TOKEN_A not in narrowed and "A 문서" not in narrowed
    assert "B 문서" in narrowed
    # A key cannot be limited to a group its owner is not in.
    outsider = api.user("b-only", groups=["B팀"])
    response = api.client.post(
        "/api/v1/keys",
        json={"name": "x", "scopes": ["search"], "group_ids": [api.group("A팀")]},
        headers=outsider,
    )
    assert response.status_code == 422
    # A key made through the narrowed key inherits its narrowing.
    child = api.client.post("/api/v1/keys", json={"name": "child", "scopes": ["search"]}, headers=b_key)
    assert child.status_code == 201, child.text
    assert child.json()["key"]["group_ids"] == [api.group("B팀")]
    child_headers = {"Authorization": f"Bearer {child.json()['secret']}"}
    assert TOKEN_A not in _search_text(api, child_headers, query)
    widen = api.client.post(
        "/api/v1/keys",
        json={"name": "wider", "scopes": ["search"], "group_ids": [api.group("A팀")]},
        headers=b_key,
    )
    assert widen.status_code == 422


def test_revoked_and_expired_keys_get_401(api: ApiHarness) -> None:
    headers = api.user("rotator")
    created = api.client.post("/api/v1/keys", json={"name": "old", "scopes": ["search"]}, headers=headers)
    key_id, secret = created.json()["key"]["id"], created.json()["secret"]
    key_headers = {"Authorization": f"Bearer {secret}"}
    assert api.me(key_headers).status_code == 200
    assert api.client.delete(f"/api/v1/keys/{key_id}", headers=headers).status_code == 204
    assert api.me(key_headers).status_code == 401
    listed = api.client.get("/api/v1/keys", headers=headers).json()["items"][0]
    assert listed["status"] == "revoked" and listed["revoked_at"]

    soon = (utcnow() + timedelta(hours=1)).isoformat()
    created = api.client.post(
        "/api/v1/keys", json={"name": "temp", "scopes": ["search"], "expires_at": soon}, headers=headers
    )
    assert created.status_code == 201
    temp_headers = {"Authorization": f"Bearer {created.json()['secret']}"}
    assert api.me(temp_headers).status_code == 200
    with api.container.sessions.begin() as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == created.json()["key"]["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert api.me(temp_headers).status_code == 401

    past = (utcnow() - timedelta(minutes=5)).isoformat()
    expired = api.client.post(
        "/api/v1/keys", json={"name": "late", "scopes": ["search"], "expires_at": past}, headers=headers
    )
    assert expired.status_code == 422


def test_key_scopes_and_owners_are_bounded(api: ApiHarness) -> None:
    employee = api.user("emp", groups=["G1"])
    other = api.user("other")
    admin = api.admin()
    other_id = api.user_id("other")

    too_wide = api.client.post("/api/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=employee)
    assert too_wide.status_code == 422
    writer = api.client.post(
        "/api/v1/keys", json={"name": "x", "scopes": ["documents:write"]}, headers=employee
    )
    assert writer.status_code == 422
    bogus = api.client.post("/api/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=employee)
    assert bogus.status_code == 422
    for_other = api.client.post(
        "/api/v1/keys", json={"name": "x", "scopes": ["search"], "owner_id": other_id}, headers=employee
    )
    assert for_other.status_code == 404
    assert for_other.json()["code"] == "not_found"
    for_ghost = api.client.post(
        "/api/v1/keys", json={"name": "x", "scopes": ["search"], "owner_id": "no-such-user"}, headers=employee
    )
    assert for_ghost.json() == for_other.json()

    # Admins make keys for others, but never beyond the owner's role.
    beyond = api.client.post(
        "/api/v1/keys", json={"name": "x", "scopes": ["admin"], "owner_id": other_id}, headers=admin
    )
    assert beyond.status_code == 422
    made = api.client.post(
        "/api/v1/keys", json={"name": "for other", "scopes": ["chat"], "owner_id": other_id}, headers=admin
    )
    assert made.status_code == 201
    key_id = made.json()["key"]["id"]
    assert made.json()["key"]["owner_id"] == other_id
    assert api.client.get("/api/v1/keys", headers=other).json()["items"][0]["id"] == key_id
    assert api.client.get("/api/v1/keys", headers=employee).json()["total"] == 0
    all_keys = api.client.get("/api/v1/keys", params={"all": "true"}, headers=admin).json()
    assert key_id in [k["id"] for k in all_keys["items"]]

    # Only the owner or an admin may revoke; anyone else gets the same 404 as a missing key.
    assert api.client.delete(f"/api/v1/keys/{key_id}", headers=employee).status_code == 404
    assert api.client.delete("/api/v1/keys/missing", headers=employee).status_code == 404
    assert api.client.delete(f"/api/v1/keys/{key_id}", headers=admin).status_code == 204
    revoke_events = api.client.get("/api/v1/audit", params={"action": "key.revoke"}, headers=admin).json()
    assert revoke_events["items"][0]["target_id"] == key_id


def test_a_key_cannot_mint_a_wider_key(api: ApiHarness) -> None:
    admin = api.admin()
    search_key = api.key(admin, ["search"])
    wider = api.client.post("/api/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=search_key)
    assert wider.status_code == 403, "without the keys scope a key makes no keys at all"
    minting_key = api.key(admin, ["search", "keys"])
    wider = api.client.post("/api/v1/keys", json={"name": "x", "scopes": ["admin"]}, headers=minting_key)
    assert wider.status_code == 422
    # An admin's search-only key is not an admin: no admin endpoints.
    assert api.client.get("/api/v1/users", headers=search_key).status_code == 403
    # Nor is an admin key narrowed to some groups, even with the admin scope.
    narrowed = api.key(admin, ["admin", "search"], group_ids=[api.group("B팀")])
    assert api.client.get("/api/v1/users", headers=narrowed).status_code == 403
    assert api.client.get("/api/v1/admin/stats", headers=narrowed).status_code == 403


# --- usage, audit and the dashboard ---------------------------------------------------------------


def test_usage_and_audit_after_a_search(api: ApiHarness) -> None:
    admin = api.admin()
    headers = api.user("searcher")
    key = api.key(headers, ["search"])
    assert api.client.post("/api/v1/search", json={"query": "연차 휴가"}, headers=headers).status_code == 200
    assert api.client.post("/api/v1/search", json={"query": "출장비"}, headers=key).status_code == 200
    user_id = api.user_id("searcher")
    with api.container.sessions.begin() as session:
        principal = accounts.resolve_bearer(session, headers["Authorization"].removeprefix("Bearer "))
        assert principal is not None
        record_usage(session, principal, "chat", prompt_tokens=120, completion_tokens=30)

    report = api.client.get("/api/v1/usage", headers=admin)
    assert report.status_code == 200
    rows = [r for r in report.json()["items"] if r["user_id"] == user_id]
    by_kind_key = {(r["kind"], r["api_key_id"] is not None): r for r in rows}
    assert by_kind_key[("search", False)]["requests"] == 1
    assert by_kind_key[("search", True)]["requests"] == 1
    chat = by_kind_key[("chat", False)]
    assert (chat["prompt_tokens"], chat["completion_tokens"]) == (120, 30)
    assert all(r["username"] == "searcher" for r in rows)
    today = utcnow().date().isoformat()
    assert all(r["day"] == today for r in rows)
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    assert api.client.get("/api/v1/usage", params={"since": tomorrow}, headers=admin).json()["items"] == []

    audit = api.client.get(
        "/api/v1/audit", params={"user_id": user_id, "action": "search"}, headers=admin
    ).json()
    assert audit["total"] == 2
    assert {e["api_key_id"] is None for e in audit["items"]} == {True, False}
    paged = api.client.get(
        "/api/v1/audit", params={"user_id": user_id, "limit": 1, "offset": 1}, headers=admin
    ).json()
    assert len(paged["items"]) == 1 and paged["total"] >= 3  # two searches, the login, the key
    since_future = api.client.get(
        "/api/v1/audit", params={"since": (utcnow() + timedelta(hours=1)).isoformat()}, headers=admin
    ).json()
    assert since_future["total"] == 0


def _seed_conversation(api: ApiHarness, user_id: str, cited_doc: str) -> dict[str, str]:
    base = utcnow() - timedelta(hours=2)
    with api.container.sessions.begin() as session:
        conversation = Conversation(user_id=user_id, title="휴가 문의")
        session.add(conversation)
        session.flush()
        messages = [
            Message(
                conversation_id=conversation.id, role="user", content="연차는 며칠인가요?", created_at=base
            ),
            Message(
                conversation_id=conversation.id,
                role="assistant",
                content="15일입니다 [1].",
                latency_ms=800,
                grounded=True,
                sources=[
                    {"number": 1, "document_id": cited_doc, "title": "취업규칙", "cited": True},
                    {"number": 2, "document_id": cited_doc, "title": "취업규칙", "cited": True},
                ],
                created_at=base + timedelta(seconds=1),
            ),
            Message(
                conversation_id=conversation.id,
                role="user",
                content="회사 주차장 요금은?",
                created_at=base + timedelta(seconds=10),
            ),
            Message(
                conversation_id=conversation.id,
                role="assistant",
                content="문서에서 찾지 못했습니다.",
                latency_ms=1200,
                grounded=False,
                sources=[{"number": 1, "document_id": "elsewhere", "cited": False}],
                created_at=base + timedelta(seconds=11),
            ),
            Message(
                conversation_id=conversation.id,
                role="user",
                content="오래된 질문",
                created_at=utcnow() - timedelta(days=40),
            ),
        ]
        session.add_all(messages)
        session.flush()
        session.add(Feedback(message_id=messages[1].id, user_id=user_id, rating=1))
        session.add(Feedback(message_id=messages[3].id, user_id=user_id, rating=-1, comment="답이 없음"))
        return {"answered": messages[1].id, "unanswered": messages[3].id}


def test_admin_stats_shape(api: ApiHarness) -> None:
    admin = api.admin()
    api.user("asker")
    cited = api.ingest("# 취업규칙\n\n제1조 연차는 15일이다.\n", "rules.md", public=True)
    uncited = api.ingest("# 주차 안내\n\n주차는 지하 2층이다.\n", "parking.md", public=True)
    ids = _seed_conversation(api, api.user_id("asker"), cited)

    response = api.client.get("/api/v1/admin/stats", params={"days": 30}, headers=admin)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["days"] == 30
    assert sum(d["count"] for d in stats["questions_per_day"]) == 2  # the 40-day-old one is outside
    assert all(len(d["day"]) == 10 for d in stats["questions_per_day"])
    assert stats["latency_ms"] == {"p50": 800, "p95": 1200, "count": 2}
    assert stats["feedback"] == {"up": 1, "down": 1, "down_rate": 0.5}
    assert stats["most_cited"] == [{"document_id": cited, "title": "취업규칙", "citations": 1}]
    assert {"document_id": uncited, "title": "주차 안내"} in stats["never_cited"]
    assert cited not in [d["document_id"] for d in stats["never_cited"]]
    assert stats["unanswered"][0]["message_id"] == ids["unanswered"]
    assert stats["unanswered"][0]["question"] == "회사 주차장 요금은?"
    assert len(stats["unanswered"]) == 1

    longer = api.client.get("/api/v1/admin/stats", params={"days": 60}, headers=admin).json()
    assert sum(d["count"] for d in longer["questions_per_day"]) == 3
    assert api.client.get("/api/v1/admin/stats", params={"days": 0}, headers=admin).status_code == 422


def test_admin_stats_on_an_empty_system(api: ApiHarness) -> None:
    stats = api.client.get("/api/v1/admin/stats", headers=api.admin()).json()
    assert stats["questions_per_day"] == []
    assert stats["latency_ms"] == {"p50": None, "p95": None, "count": 0}
    assert stats["feedback"] == {"up": 0, "down": 0, "down_rate": 0.0}
    assert stats["most_cited"] == stats["never_cited"] == stats["unanswered"] == []


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    point_cli_at(settings, monkeypatch)


def _run_cli(monkeypatch: pytest.MonkeyPatch, args: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli_main(args)


@pytest.mark.usefixtures("cli_env")
def test_cli_create_admin_then_login_over_http(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run_cli(monkeypatch, ["users", "create-admin", "Root", "--password-stdin"], "s3cure-admin-pass\n")
    assert code == 0
    assert "root" in capsys.readouterr().out
    headers = api.login("root", "s3cure-admin-pass")
    me = api.me(headers).json()
    assert me["user"]["role"] == "admin" and "admin" in me["scopes"]

    again = _run_cli(monkeypatch, ["users", "create-admin", "root", "--password-stdin"], "another-pass-123\n")
    assert again == 1
    assert "already exists" in capsys.readouterr().err
    assert api.login("root", "s3cure-admin-pass")  # unchanged

    weak = _run_cli(monkeypatch, ["users", "create-admin", "second", "--password-stdin"], "aaaaaaaaaaaa\n")
    assert weak == 1
    err = capsys.readouterr().err
    assert "password" in err and "비밀번호" in err
    empty = _run_cli(monkeypatch, ["users", "create-admin", "third", "--password-stdin"], "")
    assert empty == 1

    assert _run_cli(monkeypatch, ["users", "list"]) == 0
    listing = capsys.readouterr().out
    assert "root\tadmin\tactive" in listing
    assert "second" not in listing and "third" not in listing

    events = api.client.get("/api/v1/audit", params={"action": "user.create"}, headers=headers).json()
    assert events["items"][0]["detail"]["via"] == "cli"


@pytest.mark.usefixtures("cli_env")
def test_cli_create_admin_prompts_twice(
    api: ApiHarness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["typed-password-1", "typed-password-2"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(answers))
    assert _run_cli(monkeypatch, ["users", "create-admin", "boss"]) == 1
    assert "do not match" in capsys.readouterr().err

    answers = iter(["typed-password-1", "typed-password-1"])
    assert _run_cli(monkeypatch, ["users", "create-admin", "boss"]) == 0
    assert api.login("boss", "typed-password-1")
