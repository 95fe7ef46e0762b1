"""Fast checks of the directory and SCIM helpers that need no server: AD filters and the rewriting of
what identity providers send (the servers themselves are exercised in tests/integration)."""

from __future__ import annotations

import pytest
from scim2_models import Context, PatchOp

from app.auth.ldap import AD_DISABLED_FILTER, LdapDirectory, in_chain_filter
from app.auth.tokens import hash_secret
from app.services import scim
from core.settings import LdapSettings, ScimSettings


def test_ad_mode_asks_the_server_for_nested_groups_with_the_in_chain_rule() -> None:
    settings = LdapSettings(
        url="ldaps://dc.corp.example", active_directory=True, group_filter="(objectClass=group)"
    )
    dn = "CN=Kim\\, Minsu (재무),OU=Staff,DC=corp,DC=example"
    assert in_chain_filter(settings, dn) == (
        "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:="
        "CN=Kim\\5c, Minsu \\28재무\\29,OU=Staff,DC=corp,DC=example))"
    )
    assert LdapDirectory(settings).disabled_filter == AD_DISABLED_FILTER
    assert LdapDirectory(LdapSettings(url="ldap://x")).disabled_filter == "(pwdAccountLockedTime=*)"


def test_ldap_is_off_without_a_url_and_tls_is_verified() -> None:
    assert not LdapSettings().enabled
    with pytest.raises(ValueError, match="not configured"):
        LdapDirectory(LdapSettings())
    tls = LdapDirectory(LdapSettings(url="ldaps://dc.corp.example"))._tls()
    assert tls is not None and tls.validate == 2  # ssl.CERT_REQUIRED
    assert LdapDirectory(LdapSettings(url="ldap://x"))._tls() is None


def test_the_scim_token_is_compared_by_hash_and_scim_is_off_without_one() -> None:
    on = ScimSettings(token_sha256=hash_secret("scim_good"))
    assert scim.token_valid(on, "scim_good")
    assert not scim.token_valid(on, "scim_bad") and not scim.token_valid(on, None)
    assert not scim.token_valid(ScimSettings(), "scim_good")


def test_attributes_jikji_does_not_keep_are_dropped_not_refused() -> None:
    body = {
        "schemas": [scim.CORE_SCHEMAS["User"], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "kim@corp.example",
        "emails": [{"value": "kim@corp.example"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "재무"},
    }
    assert scim.supported_only(body, "User") == {
        "schemas": [scim.CORE_SCHEMAS["User"]],
        "userName": "kim@corp.example",
    }
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@corp.example"},
            {
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            },
            {
                "op": "Replace",
                "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName",
                "value": "김",
            },
            {"op": "Replace", "value": {"active": False, "name.givenName": "민수"}},
        ],
    }
    kept = scim.supported_operations(patch, "User")["Operations"]
    assert kept == [
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "김"},
        {"op": "Replace", "value": {"active": False}},
    ]
    assert scim.with_active({"userName": "a"}) == {"userName": "a", "active": True}
    assert scim.with_active({"userName": "a", "active": False})["active"] is False


def test_entra_member_removal_becomes_the_rfc_form() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": 'a"b'}, {"value": "c"}]}],
    }
    rewritten = scim.entra_member_removals(body)
    group = scim.Group(
        id="g",
        display_name="재무팀",
        members=[scim.Member(value=v, ref=None, type="User") for v in ('a"b', "c", "d")],
    )
    PatchOp[scim.Group].model_validate(rewritten, scim_ctx=Context.RESOURCE_PATCH_REQUEST).patch(group)
    assert [m.value for m in group.members or []] == ["d"]


def test_jikji_identity_scim_token_prints_a_token_and_the_hash_to_configure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import main as cli_main

    assert cli_main(["identity", "scim-token"]) == 0
    lines = capsys.readouterr().out.splitlines()
    token = lines[0].rsplit(" ", 1)[-1]
    assert token.startswith("scim_") and len(token) > 40
    assert lines[1] == f"JIKJI_AUTH__SCIM__TOKEN_SHA256={hash_secret(token)}"
    assert scim.token_valid(ScimSettings(token_sha256=hash_secret(token)), token)
