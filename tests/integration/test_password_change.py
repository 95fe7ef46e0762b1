"""Issue 16 item 7: the generated first admin must change its password before anything else, and every
user changes their own password (item 5: that ends their other sessions and their API keys)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.cli.serve import ensure_first_admin
from tests.api_harness import PASSWORD, ApiHarness

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Any) -> Any:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


def _change(api: ApiHarness, headers: dict[str, str], current: str, new: str) -> Any:
    body = {"current_password": current, "new_password": new}
    return api.client.post("/api/v1/auth/password", json=body, headers=headers)


def test_the_first_admin_must_change_the_logged_password(api: ApiHarness) -> None:
    line = ensure_first_admin(api.container.settings, api.container)
    match = re.search(r"admin / (\S+)", line)
    assert match, line
    printed = match.group(1)
    login = api.client.post("/api/v1/auth/login", json={"username": "admin", "password": printed})
    assert login.status_code == 200
    assert login.json()["user"]["must_change_password"] is True
    headers = {"Authorization": f"Bearer {login.json()['token']}"}

    refused = api.client.get("/api/v1/users", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    assert "/api/v1/auth/password" in refused.json()["message_en"] and refused.json()["message_ko"]
    assert api.client.post("/api/v1/search", json={"query": "휴가"}, headers=headers).status_code == 403
    assert api.client.get("/api/v1/auth/me", headers=headers).json()["user"]["must_change_password"] is True

    assert _change(api, headers, "wrong-password-9", "a-fresh-admin-pw-7").status_code == 403
    assert _change(api, headers, printed, printed).status_code == 422, "the logged password cannot stay"
    assert _change(api, headers, printed, "short").status_code == 422
    assert _change(api, headers, printed, "a-fresh-admin-pw-7").status_code == 204

    assert api.client.get("/api/v1/users", headers=headers).status_code == 200, "the same session goes on"
    assert api.client.get("/api/v1/auth/me", headers=headers).json()["user"]["must_change_password"] is False
    old = api.client.post("/api/v1/auth/login", json={"username": "admin", "password": printed})
    assert old.status_code == 401
    assert api.login("admin", "a-fresh-admin-pw-7")


def test_an_employee_changes_their_own_password(api: ApiHarness) -> None:
    admin = api.admin()
    current = api.user("kim")
    elsewhere = api.login("kim")
    key = api.key(current, ["search"])
    assert _change(api, key, PASSWORD, "kims-new-password-3").status_code == 403, "not with an API key"
    assert _change(api, current, PASSWORD, "kims-new-password-3").status_code == 204
    assert api.client.get("/api/v1/auth/me", headers=current).status_code == 200
    assert api.client.get("/api/v1/auth/me", headers=elsewhere).status_code == 401
    assert api.client.get("/api/v1/auth/me", headers=key).status_code == 401
    assert api.login("kim", "kims-new-password-3")
    events = api.client.get("/api/v1/audit", params={"action": "auth.password_change"}, headers=admin).json()
    ok = [e for e in events["items"] if e["outcome"] == "ok"]
    assert len(ok) == 1
    assert ok[0]["detail"] == {"sessions_ended": 1, "api_keys_revoked": 1}
    assert "kims-new-password-3" not in str(events)
