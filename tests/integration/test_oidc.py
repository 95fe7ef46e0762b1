"""OIDC single sign-on against a real provider process (Authlib's server side), over HTTP, on SQLite
and PostgreSQL: the code flow with PKCE, users and groups created just in time, the one-time hand-off,
refused tokens, JWKS rotation, RP-initiated logout and disabling local login."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.factory import create_app
from app.auth import oidc_accounts
from app.auth.oidc import OidcError
from app.auth.tokens import hash_secret
from app.container import Container
from app.services import accounts
from core.db import utcnow
from core.models import AuditEvent, AuthSession, IdentitySync, OidcLogin, User
from core.settings import (
    ApiSettings,
    AuthSettings,
    DatabaseSettings,
    EmbeddingSettings,
    OidcProviderSettings,
    OidcSettings,
    Settings,
)
from retrieval.tokenizer import KiwiTokenizer
from tests.api_harness import PASSWORD, ApiHarness
from tests.support.containers import make_container
from tests.support.oidc_provider import CLIENT_ID, CLIENT_SECRET, USERS, RunningProvider, running_provider
from tests.support.ports import free_port

pytestmark = pytest.mark.integration

API = "http://testserver"
CALLBACK = f"{API}/api/v1/auth/oidc/test/callback"
UI = "http://ui.test/"


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProvider]:
    """The provider process, shared by the module's tests."""
    with running_provider([CALLBACK, CALLBACK.replace("/test/", "/second/")], (UI,)) as running:
        yield running


def oidc_settings(issuer: str, **overrides: object) -> OidcSettings:
    """One provider named ``test`` whose ``finance`` group is Jikji's 재무팀 and ``it-admins`` are admins."""
    provider = OidcProviderSettings(
        name="test",
        display_name="테스트 IdP",
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,  # type: ignore[arg-type]
        scopes=["openid", "profile", "email", "groups"],
        **{"group_mapping": {"finance": "재무팀"}, "admin_groups": ["it-admins"], **overrides},  # type: ignore[arg-type]
    )
    return OidcSettings(providers=[provider], ui_url=UI)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, provider: RunningProvider) -> Settings:
    """SQLite and PostgreSQL; the API's public address is the test client's."""
    return Settings(
        data_dir=tmp_path / "data",
        embedding=EmbeddingSettings(model="hashing"),
        database=DatabaseSettings(url=database_url),
        api=ApiSettings(public_url=API),
        auth=AuthSettings(oidc=oidc_settings(provider.issuer)),
    )


def browse_to_callback(api: ApiHarness, username: str, password: str) -> str:
    """Start at the API, sign in on the provider's form like a browser; the callback URL it sends back to."""
    start = api.client.get("/api/v1/auth/oidc/test/start", follow_redirects=False)
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0] and query["state"][0]
    with httpx.Client() as browser:
        form = browser.get(authorize)
        assert form.status_code == 200 and 'name="password"' in form.text
        sent = browser.post(authorize, data={"username": username, "password": password})
    assert sent.status_code == 302, sent.text
    back = sent.headers["location"]
    assert back.startswith(CALLBACK)
    return back


def finish(api: ApiHarness, callback_url: str) -> dict[str, list[str]]:
    """Follow the provider's redirect to the API's callback; the query of the UI URL it returns to."""
    response = api.client.get(callback_url.removeprefix(API), follow_redirects=False)
    assert response.status_code == 303, response.text
    target = response.headers["location"]
    assert target.startswith(UI)
    return parse_qs(urlsplit(target).query)


def sign_in(api: ApiHarness, username: str) -> dict[str, object]:
    """The whole sign-in: the login response the UI gets for the hand-off code."""
    back = finish(api, browse_to_callback(api, username, USERS[username].password))
    assert "sso" in back, back
    response = api.client.post("/api/v1/auth/oidc/exchange", json={"code": back["sso"][0]})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def bearer(login: dict[str, object]) -> dict[str, str]:
    """Authorization headers of a login response."""
    return {"Authorization": f"Bearer {login['token']}"}


def search_text(api: ApiHarness, headers: dict[str, str], query: str) -> str:
    """The search results a caller gets, as text."""
    response = api.client.post("/api/v1/search", json={"query": query, "k": 10}, headers=headers)
    assert response.status_code == 200, response.text
    return json.dumps(response.json()["results"], ensure_ascii=False)


def test_sign_in_creates_the_user_with_mapped_groups_and_the_same_session(
    api: ApiHarness, provider: RunningProvider
) -> None:
    api.group("재무팀")
    api.ingest("# 재무 결산 일정\n\n분기 결산 마감은 다음 달 5일이다.", "finance.md", groups=["재무팀"])
    api.ingest("# 사내 식당\n\n사내 식당 결산 없이 점심은 12시에 연다.", "cafeteria.md", public=True)
    login = sign_in(api, "kim")
    user = login["user"]
    assert isinstance(user, dict)
    assert user["username"] == "kim" and user["display_name"] == "김재무" and user["role"] == "employee"
    assert [g["name"] for g in user["groups"]] == ["재무팀"]  # "all-staff" has no Jikji group: ignored
    me = api.me(bearer(login))
    assert me.status_code == 200 and me.json()["user"]["id"] == user["id"]
    found = search_text(api, bearer(login), "결산")
    assert "finance.md" in found and "cafeteria.md" in found
    with api.container.sessions() as session:
        row = session.scalar(select(User).where(User.username == "kim"))
        assert row is not None
        assert (row.origin, row.email, row.password_hash) == ("oidc", "kim@example.co.kr", None)
        assert row.external_id == f"{provider.issuer}|sub-kim-0001"
    # A second sign-in (provider session remembered or not) is the same user, groups replaced again.
    again = sign_in(api, "kim")
    assert isinstance(again["user"], dict) and again["user"]["id"] == user["id"]


def test_the_hand_off_code_works_once(api: ApiHarness) -> None:
    back = finish(api, browse_to_callback(api, "kim", USERS["kim"].password))
    first = api.client.post("/api/v1/auth/oidc/exchange", json={"code": back["sso"][0]})
    assert first.status_code == 200
    second = api.client.post("/api/v1/auth/oidc/exchange", json={"code": back["sso"][0]})
    assert second.status_code == 401 and second.json()["code"] == "invalid_handoff"


def test_a_hand_off_code_redeemed_twice_at_once_opens_one_session(api: ApiHarness) -> None:
    """Two redemptions racing: the one that read the code before the other spent it is still refused."""
    code = finish(api, browse_to_callback(api, "kim", USERS["kim"].password))["sso"][0]
    with api.container.sessions() as racing:
        read = racing.scalar(select(OidcLogin).where(OidcLogin.handoff_hash == hash_secret(code)))
        assert read is not None and read.used_at is None  # this request read the code unspent …
        first = api.client.post("/api/v1/auth/oidc/exchange", json={"code": code})
        assert first.status_code == 200  # … and the other redeemed it meanwhile
        with pytest.raises(OidcError):
            oidc_accounts.redeem_handoff(racing, code)
        racing.rollback()
    with api.container.sessions() as session:
        user_id = session.scalar(select(User.id).where(User.username == "kim"))
        assert len(session.scalars(select(AuthSession).where(AuthSession.user_id == user_id)).all()) == 1


def test_a_user_without_a_groups_claim_sees_only_public_documents(api: ApiHarness) -> None:
    api.ingest("# 재무 결산 일정\n\n분기 결산 마감은 다음 달 5일이다.", "finance.md", groups=["재무팀"])
    api.ingest("# 사내 식당\n\n사내 식당 결산 없이 점심은 12시에 연다.", "cafeteria.md", public=True)
    login = sign_in(api, "lee")
    assert isinstance(login["user"], dict) and login["user"]["groups"] == []
    found = search_text(api, bearer(login), "결산")
    assert "cafeteria.md" in found and "finance.md" not in found
    download = api.client.get("/api/v1/documents", headers=bearer(login))
    assert "finance.md" not in download.text


def test_group_membership_is_replaced_on_every_sign_in(api: ApiHarness) -> None:
    api.group("재무팀")
    api.group("인사팀")
    user_id = sign_in(api, "kim")["user"]["id"]  # type: ignore[index]
    admin = api.admin()
    changed = api.client.patch(f"/api/v1/users/{user_id}", json={"groups": ["인사팀"]}, headers=admin)
    assert changed.status_code == 200, changed.text
    login = sign_in(api, "kim")
    assert [g["name"] for g in login["user"]["groups"]] == ["재무팀"]  # type: ignore[index]


def test_unknown_groups_can_be_created(
    container: Container, settings: Settings, provider: RunningProvider
) -> None:
    creating = settings.model_copy(
        update={"auth": AuthSettings(oidc=oidc_settings(provider.issuer, unknown_groups="create"))}
    )
    with TestClient(create_app(creating, container)) as client:
        login = sign_in(ApiHarness(container, client), "kim")
    assert sorted(g["name"] for g in login["user"]["groups"]) == ["all-staff", "재무팀"]  # type: ignore[index]


def test_members_of_an_admin_group_become_admins(api: ApiHarness) -> None:
    login = sign_in(api, "park")
    assert login["user"]["role"] == "admin"  # type: ignore[index]
    assert api.client.get("/api/v1/users", headers=bearer(login)).status_code == 200


def test_a_sign_in_never_demotes_the_last_admin(
    settings: Settings, container: Container, provider: RunningProvider
) -> None:
    """park is an admin through it-admins; once that group no longer grants admin, the next sign-in keeps
    park admin while park is the only one, and demotes park once another admin exists."""
    with TestClient(create_app(settings, container)) as client:
        assert sign_in(ApiHarness(container, client), "park")["user"]["role"] == "admin"  # type: ignore[index]
    no_admins = settings.model_copy(
        update={"auth": AuthSettings(oidc=oidc_settings(provider.issuer, admin_groups=[]))}
    )
    with TestClient(create_app(no_admins, container)) as client:
        api = ApiHarness(container, client)
        assert sign_in(api, "park")["user"]["role"] == "admin"  # type: ignore[index]
        api.user("lee-admin", role="admin")
        assert sign_in(api, "park")["user"]["role"] == "employee"  # type: ignore[index]


@pytest.mark.parametrize(
    "mode", ["expired", "future", "wrong_audience", "wrong_issuer", "wrong_nonce", "tampered", "unknown_key"]
)
def test_bad_id_tokens_are_refused(api: ApiHarness, provider: RunningProvider, mode: str) -> None:
    callback = browse_to_callback(api, "kim", USERS["kim"].password)
    provider.misbehave(mode)  # the token the API fetches next is bad
    back = finish(api, callback)
    assert back == {"sso_error": ["invalid_token"]}
    with api.container.sessions() as session:
        assert session.scalar(select(User.id).where(User.username == "kim")) is None
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.oidc_callback"))
        assert [e.outcome for e in events] == ["denied"]


def test_a_callback_from_another_browser_or_replayed_is_refused(api: ApiHarness) -> None:
    callback = browse_to_callback(api, "kim", USERS["kim"].password)
    api.client.cookies.clear()  # the victim's browser never started this sign-in
    assert finish(api, callback) == {"sso_error": ["invalid_state"]}
    callback = browse_to_callback(api, "kim", USERS["kim"].password)
    assert "sso" in finish(api, callback)
    assert finish(api, callback) == {"sso_error": ["invalid_state"]}  # the state is spent


def test_the_provider_rotating_its_keys_is_followed(api: ApiHarness, provider: RunningProvider) -> None:
    sign_in(api, "kim")  # JWKS fetched and cached
    provider.rotate_keys()  # the old key leaves the JWKS; new tokens carry an unknown kid
    login = sign_in(api, "kim")
    assert api.me(bearer(login)).status_code == 200


def test_logout_ends_the_session_and_points_at_the_provider(
    api: ApiHarness, provider: RunningProvider
) -> None:
    login = sign_in(api, "kim")
    response = api.client.post("/api/v1/auth/oidc/logout", headers=bearer(login))
    assert response.status_code == 200
    url = response.json()["logout_url"]
    assert url.startswith(f"{provider.issuer}/logout?")
    assert parse_qs(urlsplit(url).query)["post_logout_redirect_uri"] == [UI]
    assert api.me(bearer(login)).status_code == 401
    local = api.admin()
    plain = api.client.post("/api/v1/auth/oidc/logout", headers=local)
    assert plain.json() == {"logout_url": None}


def test_providers_are_listed_without_signing_in(api: ApiHarness) -> None:
    body = api.client.get("/api/v1/auth/oidc/providers").json()
    assert body["local_login"] is True
    assert body["providers"] == [
        {"name": "test", "display_name": "테스트 IdP", "start_url": f"{API}/api/v1/auth/oidc/test/start"}
    ]
    assert api.client.get("/api/v1/auth/oidc/nobody/start").status_code == 404


def test_local_login_can_be_disabled_except_for_break_glass_admins(
    settings: Settings, provider: RunningProvider, kiwi: KiwiTokenizer
) -> None:
    sso_only = settings.model_copy(
        update={
            "auth": AuthSettings(
                oidc=oidc_settings(provider.issuer), local_login=False, break_glass_admins=["Rescue"]
            )
        }
    )
    container = make_container(sso_only, kiwi)
    try:
        with container.sessions.begin() as session:
            accounts.create_user(session, "employee1", PASSWORD)
            accounts.create_user(session, "rescue", PASSWORD, role="admin")
        with TestClient(create_app(sso_only, container)) as client:
            refused = client.post("/api/v1/auth/login", json={"username": "employee1", "password": PASSWORD})
            assert refused.status_code == 403 and refused.json()["code"] == "local_login_disabled"
            harness = ApiHarness(container, client)
            assert harness.me(harness.login("rescue")).status_code == 200
            assert client.get("/api/v1/auth/oidc/providers").json()["local_login"] is False
            assert sign_in(harness, "lee")["user"]["username"] == "lee"  # type: ignore[index]
    finally:
        container.close()


def test_admins_see_the_identity_sources(api: ApiHarness) -> None:
    sign_in(api, "kim")
    with api.container.sessions.begin() as session:
        session.add(IdentitySync(source="ldap", status="error", counts={"users": 3}, error="bind failed"))
    admin = api.admin()
    body = api.client.get("/api/v1/identity/sources", headers=admin).json()
    by_name = {s["name"]: s for s in body["sources"]}
    assert [s["kind"] for s in body["sources"]] == ["local", "oidc", "ldap", "scim"]
    assert by_name["local"]["configured"] is True and by_name["local"]["users"] == 1
    oidc = by_name["test"]
    assert oidc["healthy"] is True and oidc["users"] == 1 and oidc["group_mapping"] == {"finance": "재무팀"}
    assert oidc["admin_groups"] == ["it-admins"] and oidc["display_name"] == "테스트 IdP"
    assert by_name["ldap"]["last_sync"]["error"] == "bind failed"
    assert body["users_by_origin"] == {"local": 1, "oidc": 1}
    employee = api.user("someone")
    assert api.client.get("/api/v1/identity/sources", headers=employee).status_code == 403


def test_a_deactivated_sso_user_cannot_sign_in_again(api: ApiHarness) -> None:
    login = sign_in(api, "kim")
    user_id = login["user"]["id"]  # type: ignore[index]
    admin = api.admin()
    off = api.client.patch(f"/api/v1/users/{user_id}", json={"is_active": False}, headers=admin)
    assert off.status_code == 200, off.text
    assert api.me(bearer(login)).status_code == 401  # the session ended with the deactivation
    assert finish(api, browse_to_callback(api, "kim", USERS["kim"].password)) == {
        "sso_error": ["account_disabled"]
    }


def test_abandoned_sign_ins_are_purged_by_housekeeping(api: ApiHarness) -> None:
    api.client.get("/api/v1/auth/oidc/test/start", follow_redirects=False)  # never finished
    with api.container.sessions.begin() as session:
        row = session.scalars(select(OidcLogin)).one()
        row.expires_at = utcnow() - timedelta(days=2)
    api.container.housekeeping()
    with api.container.sessions() as session:
        assert session.scalars(select(OidcLogin)).all() == []


def test_an_unreachable_provider_is_a_clear_503_and_unhealthy(
    container: Container, settings: Settings
) -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    down = settings.model_copy(update={"auth": AuthSettings(oidc=oidc_settings(gone))})
    with TestClient(create_app(down, container)) as client:
        response = client.get("/api/v1/auth/oidc/test/start", follow_redirects=False)
        assert response.status_code == 503 and response.json()["code"] == "sso_unavailable"
        harness = ApiHarness(container, client)
        sources = client.get("/api/v1/identity/sources", headers=harness.admin()).json()["sources"]
        assert [s["healthy"] for s in sources if s["kind"] == "oidc"] == [False]


def test_starting_sign_ins_is_rate_limited_per_client(
    container: Container, settings: Settings, provider: RunningProvider
) -> None:
    limited = settings.model_copy(
        update={"auth": AuthSettings(oidc=oidc_settings(provider.issuer), rate_limit_per_minute=2)}
    )
    with TestClient(create_app(limited, container)) as client:
        codes = [
            client.get("/api/v1/auth/oidc/test/start", follow_redirects=False).status_code for _ in range(3)
        ]
    assert codes == [302, 302, 429]


def test_several_providers_each_get_their_button_and_callback(
    container: Container, settings: Settings, provider: RunningProvider
) -> None:
    first = oidc_settings(provider.issuer).providers[0]
    second = first.model_copy(update={"name": "second", "display_name": "두 번째 IdP"})
    both = settings.model_copy(
        update={"auth": AuthSettings(oidc=OidcSettings(providers=[first, second], ui_url=UI))}
    )
    with TestClient(create_app(both, container)) as client:
        listed = client.get("/api/v1/auth/oidc/providers").json()["providers"]
        assert [(p["name"], p["display_name"]) for p in listed] == [
            ("test", "테스트 IdP"),
            ("second", "두 번째 IdP"),
        ]
        start = client.get("/api/v1/auth/oidc/second/start", follow_redirects=False)
        redirect = parse_qs(urlsplit(start.headers["location"]).query)["redirect_uri"]
        assert redirect == [f"{API}/api/v1/auth/oidc/second/callback"]
        with httpx.Client() as browser:
            sent = browser.post(
                start.headers["location"], data={"username": "kim", "password": USERS["kim"].password}
            )
        back = client.get(sent.headers["location"].removeprefix(API), follow_redirects=False)
        code = parse_qs(urlsplit(back.headers["location"]).query)["sso"][0]
        login = client.post("/api/v1/auth/oidc/exchange", json={"code": code})
        assert login.status_code == 200 and login.json()["user"]["username"] == "kim"
        # The callback deleted the cookie that bound this sign-in to the browser.
        assert client.cookies.get("jikji_oidc_second") is None
