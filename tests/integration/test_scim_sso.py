"""SCIM-provisioned users sign in through the same provider's single sign-on (``link_scim_users``):
the account is the SCIM one, its groups are SCIM's (not the token's), and SCIM deactivation keeps
them out. A real OIDC provider process and the SCIM API, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.auth.tokens import hash_secret
from core.settings import (
    ApiSettings,
    AuthSettings,
    DatabaseSettings,
    EmbeddingSettings,
    ScimSettings,
    Settings,
)
from tests.api_harness import ApiHarness
from tests.integration.test_oidc import (
    API,
    bearer,
    browse_to_callback,
    finish,
    oidc_settings,
    provider,  # noqa: F401 - the provider process fixture
    sign_in,
)
from tests.support.oidc_provider import USERS, RunningProvider

pytestmark = pytest.mark.integration

TOKEN = "scim_sso-link-token-0123456789"
SCIM = {"Authorization": f"Bearer {TOKEN}"}
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, provider: RunningProvider) -> Settings:  # noqa: F811
    """The test provider with SCIM linking on, and SCIM on; SQLite and PostgreSQL."""
    oidc = oidc_settings(provider.issuer)
    oidc.providers[0] = oidc.providers[0].model_copy(update={"link_scim_users": True})
    return Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        database=DatabaseSettings(url=database_url),
        api=ApiSettings(public_url=API),
        auth=AuthSettings(oidc=oidc, scim=ScimSettings(token_sha256=hash_secret(TOKEN))),
    )


def _scim(api: ApiHarness, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.client.request(method, f"/scim/v2{path}", json=body, headers=SCIM)
    assert response.status_code < 300, response.text
    return dict(response.json())


def test_a_scim_user_signs_in_through_sso_with_the_groups_scim_gave_them(api: ApiHarness) -> None:
    api.group("재무팀")  # what the token's "finance" group maps to: not used for a SCIM user
    user = _scim(
        api, "POST", "/Users", {"userName": "kim", "externalId": "sub-kim-0001", "displayName": "김"}
    )
    group = _scim(api, "POST", "/Groups", {"displayName": "영업팀", "members": [{"value": user["id"]}]})
    login = sign_in(api, "kim")
    signed_in = login["user"]
    assert isinstance(signed_in, dict) and signed_in["id"] == user["id"]
    assert [g["name"] for g in signed_in["groups"]] == ["영업팀"]
    assert signed_in["origin"] == "scim"
    # Removed from the group through SCIM: the session's next request no longer has it.
    removal = {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}
    _scim(api, "PATCH", f"/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [removal]})
    assert api.me(bearer(login)).json()["user"]["groups"] == []
    # Deactivated through SCIM: the session ends and signing in again is refused.
    off = {"op": "replace", "path": "active", "value": False}
    _scim(api, "PATCH", f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [off]})
    assert api.me(bearer(login)).status_code == 401
    refused = finish(api, browse_to_callback(api, "kim", USERS["kim"].password))
    assert refused == {"sso_error": ["account_disabled"]}
