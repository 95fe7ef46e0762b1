"""Issue 16 items 4, 5 and 7: keys do not mint wider or longer-lived keys, revoking cascades, a password
reset or deactivation ends sessions and keys, limits count per owner, ``/auth/me`` under a narrowed key."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from app.container import Container
from core.db import utcnow
from core.settings import AuthSettings, Settings
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import ApiHarness
from tests.integration.test_api_accounts import hold_the_clock
from tests.support.containers import make_container

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _make_key(api: ApiHarness, headers: dict[str, str], **body: Any) -> Any:
    body.setdefault("name", "k")
    return api.client.post("/api/v1/keys", json=body, headers=headers)


def _expiry(response: Any) -> datetime:
    return datetime.fromisoformat(response.json()["key"]["expires_at"])


# --- item 4: keys mint keys ------------------------------------------------------------------------


def test_a_key_without_the_keys_scope_cannot_manage_keys(api: ApiHarness) -> None:
    """The probe: a search-only key expiring in 10 minutes minted a non-expiring key, deleted a sibling."""
    headers = api.user("prober")
    soon = (utcnow() + timedelta(minutes=10)).isoformat()
    search_key = _make_key(api, headers, scopes=["search"], expires_at=soon)
    sibling = _make_key(api, headers, name="sibling", scopes=["search"])
    assert search_key.status_code == sibling.status_code == 201
    key_headers = _bearer(search_key.json()["secret"])

    minted = _make_key(api, key_headers, scopes=["search"])
    assert minted.status_code == 403
    assert minted.json()["code"] == "insufficient_scope"
    assert minted.json()["message_ko"] and minted.json()["message_en"]
    sibling_id = sibling.json()["key"]["id"]
    assert api.client.delete(f"/api/v1/keys/{sibling_id}", headers=key_headers).status_code == 403
    assert api.client.get("/api/v1/keys", headers=key_headers).status_code == 403
    assert api.me(_bearer(sibling.json()["secret"])).status_code == 200
    # A session has the scope without asking for it.
    assert "keys" in api.me(headers).json()["scopes"]


def test_a_child_key_never_outlives_or_outranks_its_parent(api: ApiHarness) -> None:
    headers = api.user("parent-owner", groups=["A팀", "B팀"])
    soon = utcnow() + timedelta(minutes=10)
    parent = _make_key(
        api, headers, scopes=["search", "keys"], group_ids=[api.group("B팀")], expires_at=soon.isoformat()
    )
    assert parent.status_code == 201, parent.text
    parent_headers = _bearer(parent.json()["secret"])

    child = _make_key(api, parent_headers, name="child", scopes=["search"])
    assert child.status_code == 201, child.text
    assert _expiry(child) == _expiry(parent), "no expiry asked: it expires with its parent"
    assert child.json()["key"]["parent_id"] == parent.json()["key"]["id"]
    assert child.json()["key"]["group_ids"] == [api.group("B팀")]

    later = (soon + timedelta(days=1)).isoformat()
    outlives = _make_key(api, parent_headers, scopes=["search"], expires_at=later)
    assert outlives.status_code == 422
    assert outlives.json()["message_ko"] and outlives.json()["message_en"]
    earlier = (soon - timedelta(minutes=5)).isoformat()
    assert _make_key(api, parent_headers, scopes=["search"], expires_at=earlier).status_code == 201
    assert _make_key(api, parent_headers, scopes=["chat"]).status_code == 422
    wider_groups = _make_key(api, parent_headers, scopes=["search"], group_ids=[api.group("A팀")])
    assert wider_groups.status_code == 422
    # A child without the keys scope cannot go on minting.
    assert _make_key(api, _bearer(child.json()["secret"]), scopes=["search"]).status_code == 403


def test_revoking_a_key_revokes_every_key_made_through_it(api: ApiHarness) -> None:
    headers = api.user("tree-owner")
    parent = _make_key(api, headers, name="parent", scopes=["search", "keys"])
    sibling = _make_key(api, headers, name="sibling", scopes=["search"])
    parent_headers = _bearer(parent.json()["secret"])
    child = _make_key(api, parent_headers, name="child", scopes=["search", "keys"])
    grandchild = _make_key(api, _bearer(child.json()["secret"]), name="grandchild", scopes=["search"])
    assert grandchild.status_code == 201, grandchild.text

    # Through a key, only that key and what was made through it can be seen and revoked.
    listed = api.client.get("/api/v1/keys", headers=parent_headers).json()
    assert {k["name"] for k in listed["items"]} == {"parent", "child", "grandchild"}
    for other in (sibling, parent):
        response = api.client.delete(
            f"/api/v1/keys/{other.json()['key']['id']}", headers=_bearer(child.json()["secret"])
        )
        assert response.status_code == 404, "a child revokes neither its parent nor a sibling"

    revoke = api.client.delete(f"/api/v1/keys/{parent.json()['key']['id']}", headers=headers)
    assert revoke.status_code == 204
    for key in (parent, child, grandchild):
        assert api.me(_bearer(key.json()["secret"])).status_code == 401
    assert api.me(_bearer(sibling.json()["secret"])).status_code == 200
    admin = api.admin()
    events = api.client.get("/api/v1/audit", params={"action": "key.revoke"}, headers=admin).json()
    assert events["items"][0]["detail"]["revoked"] == 3


# --- item 5: a password reset or deactivation ends sessions and keys --------------------------------


def test_a_password_reset_revokes_sessions_and_keys(api: ApiHarness) -> None:
    admin = api.admin()
    headers = api.user("reset-me")
    key = api.key(headers, ["search"])
    user_id = api.user_id("reset-me")
    response = api.client.patch(
        f"/api/v1/users/{user_id}", json={"password": "brand-new-pass-42"}, headers=admin
    )
    assert response.status_code == 200
    assert api.me(headers).status_code == 401
    assert api.me(key).status_code == 401
    events = api.client.get("/api/v1/audit", params={"target_id": user_id}, headers=admin).json()
    detail = events["items"][0]["detail"]
    assert detail["changed"] == ["password"]
    assert detail["sessions_ended"] == 1 and detail["api_keys_revoked"] == 1


def test_deactivation_counts_what_it_ended(api: ApiHarness) -> None:
    admin = api.admin()
    headers = api.user("leaver")
    api.key(headers, ["search"])
    api.key(headers, ["chat"])
    user_id = api.user_id("leaver")
    assert (
        api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin).status_code
        == 200
    )
    events = api.client.get("/api/v1/audit", params={"target_id": user_id}, headers=admin).json()
    assert events["items"][0]["detail"]["api_keys_revoked"] == 2


# --- item 7: limits per owner, a cap on keys, /auth/me under a narrowed key -------------------------


def test_many_keys_do_not_multiply_the_rate_limit(container: Container, settings: Settings) -> None:
    strict = settings.model_copy(update={"auth": AuthSettings(rate_limit_per_minute=6)})
    with TestClient(create_app(strict, container)) as client:
        hold_the_clock(client.app)
        api = ApiHarness(container, client)  # type: ignore[arg-type]
        headers = api.user("many-keys")
        keys = [api.key(headers, ["search"]) for _ in range(3)]  # three requests of the owner's six
        statuses = [api.me(keys[i % 3]).status_code for i in range(4)]
        assert statuses == [200, 200, 200, 429], "three keys share their owner's six requests"
        assert api.me(headers).status_code == 429


def test_keys_per_user_are_capped(settings: Settings, kiwi: KiwiTokenizer) -> None:
    capped = settings.model_copy(update={"auth": AuthSettings(max_keys_per_user=2)})
    container = make_container(capped, kiwi)
    try:
        with TestClient(create_app(capped, container)) as client:
            api = ApiHarness(container, client)  # type: ignore[arg-type]
            headers = api.user("hoarder")
            first = _make_key(api, headers, scopes=["search"])
            assert _make_key(api, headers, scopes=["search"]).status_code == 201
            third = _make_key(api, headers, scopes=["search"])
            assert third.status_code == 409
            assert third.json()["message_ko"] and third.json()["message_en"]
            api.client.delete(f"/api/v1/keys/{first.json()['key']['id']}", headers=headers)
            assert _make_key(api, headers, scopes=["search"]).status_code == 201, "revoked keys do not count"
    finally:
        container.close()


def test_me_through_a_narrowed_key_shows_only_its_groups(api: ApiHarness) -> None:
    headers = api.user("two-teams", groups=["A팀", "B팀"])
    narrowed = api.key(headers, ["search"], group_ids=[api.group("B팀")])
    assert [g["name"] for g in api.me(headers).json()["user"]["groups"]] == ["A팀", "B팀"]
    assert [g["name"] for g in api.me(narrowed).json()["user"]["groups"]] == ["B팀"]
    assert "A팀" not in api.me(narrowed).text
