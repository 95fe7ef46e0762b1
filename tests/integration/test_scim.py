"""SCIM 2.0 provisioning: conformance (scim2-tester against a real uvicorn server), the bearer token,
Entra ID's payloads, and provisioning / deprovisioning taking effect on the next request.
SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from app.api.factory import create_app
from app.auth.tokens import hash_secret
from core.settings import ScimSettings, Settings
from tests.api_harness import ApiHarness
from tests.support.servers import serve

pytestmark = pytest.mark.integration

TOKEN = "scim_test-token-for-the-provider-0123456789"
SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SECRET_TOKEN = "기밀예산토큰QV"


def with_scim(settings: Settings) -> Settings:
    """``settings`` with SCIM on (the token's hash configured)."""
    auth = settings.auth.model_copy(update={"scim": ScimSettings(token_sha256=hash_secret(TOKEN))})
    return settings.model_copy(update={"auth": auth})


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """SQLite and PostgreSQL, SCIM on."""
    return with_scim(settings_on_each_database)


SCIM = {"Authorization": f"Bearer {TOKEN}", "Content-Type": SCIM_JSON}


def test_scim_conformance_with_scim2_tester(api: ApiHarness, settings: Settings) -> None:
    with serve(create_app(settings, api.container)) as base:
        http = httpx2.Client(base_url=f"{base}/scim/v2", headers={"Authorization": f"Bearer {TOKEN}"})
        results = check_server(SyncSCIMClient(http))
    failed = [
        (r.title, r.resource_type, r.reason)
        for r in results
        if r.status not in {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}
    ]
    assert failed == []
    counts = Counter(r.status for r in results)
    assert counts[Status.SUCCESS] >= 50, counts  # discovery, CRUD, PATCH add/replace/remove of each attribute
    tags = {tag for r in results if r.status == Status.SUCCESS for tag in r.tags}
    assert {"discovery", "crud:create", "crud:read", "crud:update", "crud:delete"} <= tags
    assert {"patch:add", "patch:replace", "patch:remove"} <= tags


def test_every_route_needs_the_token_and_answers_scim_errors(api: ApiHarness, settings: Settings) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        for method, path in [
            ("GET", "/scim/v2/Users"),
            ("GET", "/scim/v2/Schemas"),
            ("DELETE", "/scim/v2/Users/x"),
        ]:
            response = api.client.request(method, path, headers=headers)
            assert response.status_code == 401, (headers, path)
            assert response.headers["content-type"].startswith(SCIM_JSON)
            assert response.json()["status"] == "401"
        created = api.client.post(
            "/scim/v2/Users", json={"schemas": [USER_SCHEMA], "userName": "x"}, headers=headers
        )
        assert created.status_code == 401  # refused before the body is read
    # A Jikji session or API key is not a SCIM token.
    admin = api.admin()
    assert api.client.get("/scim/v2/Users", headers=admin).status_code == 401
    # SCIM is off without a configured hash.
    off = settings.model_copy(update={"auth": settings.auth.model_copy(update={"scim": ScimSettings()})})
    api.container.settings = off
    assert api.client.get("/scim/v2/Users", headers=SCIM).status_code == 401
    # And the SCIM routes are not part of Jikji's OpenAPI document.
    assert not [p for p in api.client.get("/openapi.json").json()["paths"] if p.startswith("/scim")]


def _scim(api: ApiHarness, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = api.client.request(method, f"/scim/v2{path}", json=body, headers=SCIM)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _found(api: ApiHarness, headers: dict[str, str]) -> set[str]:
    response = api.client.post(
        "/api/v1/search", json={"query": f"{SECRET_TOKEN} 예산", "k": 20}, headers=headers
    )
    assert response.status_code == 200, response.text
    return {r["file_name"] for r in response.json()["results"]}


def test_entra_id_provisioning_and_deprovisioning_take_effect_on_the_next_request(api: ApiHarness) -> None:
    # Entra ID's first calls: look the user up by userName, create it, create the group with it.
    assert _scim(api, "GET", '/Users?filter=userName eq "kim@corp.example"')["totalResults"] == 0
    kim = _scim(
        api,
        "POST",
        "/Users",
        {
            "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0f2c-kim",
            "userName": "Kim@corp.example",
            "active": True,
            "displayName": "김민수",
            "emails": [{"primary": True, "type": "work", "value": "kim@corp.example"}],
            "name": {"formatted": "김민수", "familyName": "김", "givenName": "민수"},
        },
    )
    assert kim["userName"] == "kim@corp.example" and kim["active"] is True and "emails" not in kim
    group = _scim(
        api, "POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "재무팀", "externalId": "g-fin"}
    )
    api.ingest(f"# 예산\n\n{SECRET_TOKEN} 예산은 120억원이다.\n", "재무예산.md", groups=["재무팀"])
    headers = api.session_for(kim["id"])  # what the single sign-on callback opens
    key = api.key(headers, ["search"])
    assert _found(api, headers) == set()

    add = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": kim["id"]}]}],
    }
    _scim(api, "PATCH", f"/Groups/{group['id']}", add)
    assert _found(api, headers) == {"재무예산.md"}  # the very next request
    assert _found(api, key) == {"재무예산.md"}
    listed = _scim(api, "GET", '/Groups?filter=displayName eq "재무팀"')
    assert [m["value"] for m in listed["Resources"][0]["members"]] == [kim["id"]]

    remove = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": kim["id"]}]}],  # Entra's form
    }
    _scim(api, "PATCH", f"/Groups/{group['id']}", remove)
    assert _found(api, headers) == set() and _found(api, key) == set()
    assert "groups" not in _scim(api, "GET", f"/Users/{kim['id']}")

    disable = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": False}]}
    assert _scim(api, "PATCH", f"/Users/{kim['id']}", disable)["active"] is False
    assert api.me(headers).status_code == 401 and api.me(key).status_code == 401
    # Re-enabled: a new sign-in works (the ended session and key stay ended).
    enable = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": True}]}
    _scim(api, "PATCH", f"/Users/{kim['id']}", enable)
    assert api.me(headers).status_code == 401
    again = api.session_for(kim["id"])
    assert api.me(again).status_code == 200
    _scim(api, "DELETE", f"/Users/{kim['id']}")
    assert api.me(again).status_code == 401
    gone = api.client.get(f"/scim/v2/Users/{kim['id']}", headers=SCIM)
    assert gone.status_code == 404 and gone.json()["status"] == "404"


def test_scim_never_sees_or_takes_over_accounts_and_groups_it_did_not_create(api: ApiHarness) -> None:
    api.user("lee", groups=["영업팀"])
    lee_id = api.user_id("lee")
    assert _scim(api, "GET", "/Users")["totalResults"] == 0
    assert _scim(api, "GET", "/Groups")["totalResults"] == 0
    for path in (f"/Users/{lee_id}", f"/Groups/{api.group('영업팀')}"):
        assert api.client.get(f"/scim/v2{path}", headers=SCIM).status_code == 404
        assert api.client.delete(f"/scim/v2{path}", headers=SCIM).status_code == 404
    taken = api.client.post(
        "/scim/v2/Users", json={"schemas": [USER_SCHEMA], "userName": "LEE"}, headers=SCIM
    )
    assert taken.status_code == 409 and taken.json()["scimType"] == "uniqueness"
    clash = api.client.post(
        "/scim/v2/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "영업팀"}, headers=SCIM
    )
    assert clash.status_code == 409
    user = _scim(api, "POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "park"})
    foreign = {"schemas": [GROUP_SCHEMA], "displayName": "신규팀", "members": [{"value": lee_id}]}
    refused = api.client.post("/scim/v2/Groups", json=foreign, headers=SCIM)
    assert refused.status_code == 404  # a local account cannot be put into a SCIM group
    assert user["active"] is True  # absent on create: active


def test_malformed_requests_get_scim_errors(api: ApiHarness) -> None:
    bad_json = api.client.post("/scim/v2/Users", content=b"{", headers=SCIM)
    assert bad_json.status_code == 400 and bad_json.json()["status"] == "400"
    no_name = api.client.post("/scim/v2/Users", json={"schemas": [USER_SCHEMA]}, headers=SCIM)
    assert no_name.status_code == 400
    bad_filter = api.client.get("/scim/v2/Users", params={"filter": "userName eq"}, headers=SCIM)
    assert bad_filter.status_code == 400 and bad_filter.json()["scimType"] == "invalidFilter"
    assert api.client.get("/scim/v2/Nope", headers=SCIM).status_code == 404
    assert api.client.post("/scim/v2/Bulk", json={}, headers=SCIM).status_code == 501
