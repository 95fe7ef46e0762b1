"""LDAP sign-in, nested groups, sync and deprovisioning against a real slapd (SQLite and PostgreSQL).

The directory: kim is in ``finance-ap``, which is inside ``finance`` (mapped to 재무팀); lee is in
``sales`` (영업팀); park is locked (ppolicy); choi is in ``jikji-admins``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from app.auth.ldap import LdapDirectory, LdapIncompleteError, LdapUnavailableError
from app.cli import main as cli_main
from app.services.identity_sync import MassDeprovisionError, run_ldap_sync, sync_if_due
from core.models import AuditEvent, IdentitySync, User
from core.settings import LdapSettings, Settings
from tests.api_harness import ApiHarness
from tests.conftest import point_cli_at
from tests.support.slapd import (
    GROUPS,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    Slapd,
    running_slapd,
    slapd_fixture,  # noqa: F401 - provides the `slapd` fixture
    write_certificates,
)

pytestmark = pytest.mark.integration

KIM_PASSWORD = "kim-directory-pw-1"
FINANCE_TOKEN = "재무비밀토큰XQ"
SALES_TOKEN = "영업비밀토큰ZW"
FINANCE_DOC = f"# 재무팀 예산\n\n올해 {FINANCE_TOKEN} 예산은 120억원이다.\n"
SALES_DOC = f"# 영업팀 목표\n\n올해 {SALES_TOKEN} 매출 목표는 300억원이다.\n"
PUBLIC_DOC = "# 사내 식당\n\n점심은 11시 30분부터 제공한다.\n"


@dataclass
class Corp:
    """The seeded directory and the DNs the tests change."""

    server: Slapd
    kim: str
    lee: str
    park: str
    choi: str
    finance: str
    finance_ap: str
    sales: str
    admins: str


def ldap_settings(server: Slapd, **changes: Any) -> LdapSettings:
    """Jikji's LDAP settings for the test directory (service account, mapping, admins group)."""
    values: dict[str, Any] = {
        "url": server.url,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "user_base": PEOPLE,
        "group_base": GROUPS,
        "group_mapping": {"finance": "재무팀", f"cn=sales,{GROUPS}": "영업팀"},
        "admin_groups": ["jikji-admins"],
        "sync_interval_minutes": 0,
    }
    return LdapSettings(**{**values, **changes})


def seed(server: Slapd) -> Corp:
    """People, nested groups and a locked account."""
    kim = server.add_person("kim", KIM_PASSWORD, "김민수")
    lee = server.add_person("lee", "lee-directory-pw-1", "이영희")
    park = server.add_person("park", "park-directory-pw-1", "박철수")
    choi = server.add_person("choi", "choi-directory-pw-1", "최관리")
    finance_ap = server.add_group("finance-ap", [kim])
    finance = server.add_group("finance", [finance_ap, park])
    sales = server.add_group("sales", [lee])
    admins = server.add_group("jikji-admins", [choi])
    server.lock(park)
    return Corp(server, kim, lee, park, choi, finance, finance_ap, sales, admins)


@pytest.fixture
def corp(slapd: Slapd) -> Corp:
    """The seeded test directory."""
    return seed(slapd)


@pytest.fixture
def settings(settings_on_each_database: Settings, corp: Corp) -> Settings:
    """SQLite and PostgreSQL, with LDAP pointed at the test directory."""
    auth = settings_on_each_database.auth.model_copy(update={"ldap": ldap_settings(corp.server)})
    return settings_on_each_database.model_copy(update={"auth": auth})


def login(api: ApiHarness, username: str, password: str) -> Any:
    """``POST /api/v1/auth/login``."""
    return api.client.post("/api/v1/auth/login", json={"username": username, "password": password})


def bearer(response: Any) -> dict[str, str]:
    """The headers of a successful login."""
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def found(api: ApiHarness, headers: dict[str, str], query: str) -> set[str]:
    """Display names of the documents a search returns."""
    response = api.client.post("/api/v1/search", json={"query": query, "k": 20}, headers=headers)
    assert response.status_code == 200, response.text
    return {r["file_name"] for r in response.json()["results"]}


def ingest_world(api: ApiHarness) -> dict[str, str]:
    """A 재무팀, a 영업팀 and a public document."""
    return {
        "finance": api.ingest(FINANCE_DOC, "재무예산.md", groups=["재무팀"]),
        "sales": api.ingest(SALES_DOC, "영업목표.md", groups=["영업팀"]),
        "public": api.ingest(PUBLIC_DOC, "식당.md", public=True),
    }


def test_an_ldap_user_signs_in_with_nested_groups_and_sees_exactly_their_documents(
    api: ApiHarness, corp: Corp
) -> None:
    ingest_world(api)
    kim = bearer(login(api, "Kim", KIM_PASSWORD))
    me = api.me(kim).json()["user"]
    assert me["username"] == "kim" and me["display_name"] == "김민수" and me["role"] == "employee"
    assert [g["name"] for g in me["groups"]] == ["재무팀"]  # through finance-ap ⊂ finance
    listed = api.client.get("/api/v1/documents", headers=kim).json()
    assert {d["display_name"] for d in listed["items"]} == {"재무예산.md", "식당.md"}
    assert "재무예산.md" in found(api, kim, f"{FINANCE_TOKEN} 예산")
    assert "영업목표.md" not in found(api, kim, f"{SALES_TOKEN} 매출 목표")
    with api.container.sessions() as session:
        user = session.scalar(select(User).where(User.username == "kim"))
        assert user is not None and user.origin == "ldap" and user.password_hash is None
        assert user.external_id and user.external_id != corp.kim  # entryUUID, not the DN


def test_wrong_locked_unknown_and_empty_credentials_are_refused(api: ApiHarness, corp: Corp) -> None:
    for username, password in [
        ("kim", "wrong-password-1"),
        ("kim", " "),
        ("park", "park-directory-pw-1"),  # locked in the directory
        ("nobody", "whatever-pw-123"),
        ("*", KIM_PASSWORD),  # a filter metacharacter is a literal, not a wildcard
    ]:
        response = login(api, username, password)
        assert response.status_code == 401, (username, response.text)
        assert response.json()["code"] == "invalid_credentials"
    with api.container.sessions() as session:
        assert session.scalar(select(User).where(User.origin == "ldap")) is None


def test_a_local_account_is_never_taken_over_by_a_directory_entry_of_the_same_name(
    api: ApiHarness, corp: Corp
) -> None:
    api.user("lee", groups=["재무팀"])  # a local lee exists before LDAP was configured
    assert login(api, "lee", "lee-directory-pw-1").status_code == 401
    local = api.login("lee")
    assert [g["name"] for g in api.me(local).json()["user"]["groups"]] == ["재무팀"]


def test_admin_role_follows_the_directory_group(api: ApiHarness, corp: Corp) -> None:
    choi = bearer(login(api, "choi", "choi-directory-pw-1"))
    assert api.me(choi).json()["user"]["role"] == "admin"
    assert api.client.get("/api/v1/users", headers=choi).status_code == 200
    api.admin()  # a local admin too, so choi is not the last one
    corp.server.remove_member(corp.admins, corp.choi)
    run_ldap_sync(api.container.sessions, _directory(api))
    assert api.client.get("/api/v1/users", headers=choi).status_code == 403
    assert api.me(choi).json()["user"]["role"] == "employee"


def _directory(api: ApiHarness) -> Any:
    directory = api.container.ldap_directory
    assert directory is not None
    return directory


def test_removed_from_a_group_in_the_directory_loses_its_documents_after_one_sync(
    api: ApiHarness, corp: Corp
) -> None:
    ingest_world(api)
    kim = bearer(login(api, "kim", KIM_PASSWORD))
    key = api.key(kim, ["search", "documents:read"])
    assert "재무예산.md" in found(api, kim, f"{FINANCE_TOKEN} 예산")
    corp.server.remove_member(corp.finance_ap, corp.kim)
    assert "재무예산.md" in found(api, kim, f"{FINANCE_TOKEN} 예산")  # until the sync
    counts = run_ldap_sync(api.container.sessions, _directory(api))
    assert counts.updated == 1 and counts.deprovisioned == 0
    for headers in (kim, key):
        assert "재무예산.md" not in found(api, headers, f"{FINANCE_TOKEN} 예산")
        assert api.me(headers).json()["user"]["groups"] == []
    # Added to sales instead: sales documents appear after the next sync.
    corp.server.add_member(corp.sales, corp.kim)
    run_ldap_sync(api.container.sessions, _directory(api))
    assert "영업목표.md" in found(api, kim, f"{SALES_TOKEN} 매출 목표")


def test_a_disabled_account_loses_its_sessions_and_keys_at_the_next_sync(
    api: ApiHarness,
    corp: Corp,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kim = bearer(login(api, "kim", KIM_PASSWORD))
    key = api.key(kim, ["search"])
    lee = bearer(login(api, "lee", "lee-directory-pw-1"))
    corp.server.lock(corp.kim)
    assert login(api, "kim", KIM_PASSWORD).status_code == 401  # no new sign-in at once
    assert api.me(kim).status_code == 200  # the old session lives until the sync …
    _cli_sync(settings, monkeypatch)  # … `jikji identity sync`
    assert cli_main(["identity", "status"]) == 0
    status = capsys.readouterr().out
    assert "LDAP on" in status and "\nldap\tok\t" in status and "'deprovisioned': 1" in status
    assert api.me(kim).status_code == 401
    assert api.me(key).status_code == 401
    assert api.me(lee).status_code == 200  # others are untouched
    with api.container.sessions() as session:
        kim_row = session.scalar(select(User).where(User.username == "kim"))
        assert kim_row is not None and not kim_row.is_active
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "identity.deprovision"))
        assert [(e.target_id, e.detail["reason"], e.detail["api_keys_revoked"]) for e in events] == [
            (kim_row.id, "disabled", 1)
        ]
    # Unlocked again in the directory: still deactivated in Jikji until an admin reactivates.
    corp.server.unlock(corp.kim)
    assert login(api, "kim", KIM_PASSWORD).status_code == 401


def _cli_sync(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    point_cli_at(settings, monkeypatch)
    ldap = settings.auth.ldap
    monkeypatch.setenv("JIKJI_AUTH__LDAP__URL", ldap.url or "")
    monkeypatch.setenv("JIKJI_AUTH__LDAP__BIND_DN", ldap.bind_dn or "")
    monkeypatch.setenv("JIKJI_AUTH__LDAP__BIND_PASSWORD", SERVICE_PASSWORD)
    monkeypatch.setenv("JIKJI_AUTH__LDAP__USER_BASE", ldap.user_base)
    monkeypatch.setenv("JIKJI_AUTH__LDAP__GROUP_BASE", ldap.group_base)
    monkeypatch.setenv("JIKJI_AUTH__LDAP__GROUP_MAPPING", '{"finance": "재무팀", "sales": "영업팀"}')
    assert cli_main(["identity", "sync"]) == 0


def test_someone_who_vanishes_from_the_directory_is_deprovisioned(api: ApiHarness, corp: Corp) -> None:
    lee = bearer(login(api, "lee", "lee-directory-pw-1"))
    corp.server.remove_member(corp.sales, corp.lee)
    corp.server.delete(corp.lee)
    counts = run_ldap_sync(api.container.sessions, _directory(api))
    assert counts.deprovisioned == 1 and counts.sessions_ended == 1
    assert api.me(lee).status_code == 401


def test_an_unreachable_directory_deprovisions_nobody_and_records_the_error(
    api: ApiHarness, corp: Corp
) -> None:
    kim = bearer(login(api, "kim", KIM_PASSWORD))
    corp.server.stop()
    with pytest.raises(Exception, match="LDAP service bind failed"):
        run_ldap_sync(api.container.sessions, _directory(api))
    assert api.me(kim).status_code == 200
    down = login(api, "kim", KIM_PASSWORD)
    assert down.status_code == 503 and down.json()["code"] == "directory_unavailable"
    assert down.json()["message_ko"] and down.headers["retry-after"]
    assert login(api, "kim", "wrong-password-1").status_code == 503  # not told apart from a good one
    with api.container.sessions() as session:
        state = session.get(IdentitySync, "ldap")
        assert (
            state is not None
            and state.status == "error"
            and "LDAP service bind failed" in (state.error or "")
        )


def test_the_worker_idle_loop_syncs_when_the_interval_has_passed(
    api: ApiHarness, corp: Corp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a periodic sync the worker cleans up every ten minutes; with one it looks every minute.
    assert api.container.job_runner()._housekeeping_every_s == 600.0
    periodic = api.container.settings.model_copy(deep=True)
    periodic.auth.ldap.sync_interval_minutes = 15.0
    monkeypatch.setattr(api.container, "settings", periodic)
    assert api.container.job_runner()._housekeeping_every_s == 60.0
    kim = bearer(login(api, "kim", KIM_PASSWORD))
    directory = _directory(api)
    directory.settings = directory.settings.model_copy(update={"sync_interval_minutes": 60})
    corp.server.remove_member(corp.finance_ap, corp.kim)
    with api.container.sessions.begin() as session:  # as if it never ran (the API's own worker may have)
        session.execute(delete(IdentitySync))
    api.container.housekeeping()  # never ran: due now
    assert api.me(kim).json()["user"]["groups"] == []
    corp.server.add_member(corp.finance_ap, corp.kim)
    assert sync_if_due(api.container.sessions, directory) is None  # ran a moment ago: not due
    assert api.me(kim).json()["user"]["groups"] == []
    with api.container.sessions() as session:
        state = session.get(IdentitySync, "ldap")
        assert state is not None and state.status == "ok" and state.counts["updated"] == 1


def test_nested_group_cycles_end_and_nesting_can_be_turned_off(api: ApiHarness, corp: Corp) -> None:
    loop_a = corp.server.add_group("loop-a", [corp.kim])
    loop_b = corp.server.add_group("loop-b", [loop_a])
    corp.server.add_member(loop_a, loop_b)  # a ⊂ b ⊂ a
    directory = _directory(api)
    person = directory.authenticate("kim", KIM_PASSWORD)
    assert person is not None
    assert {g.name for g in person.groups} == {"finance-ap", "finance", "loop-a", "loop-b"}
    # The sync reads all groups once and walks them in memory: the same answer.
    assert set(directory.people()[person.external_id].groups) == set(person.groups)
    directory.settings = directory.settings.model_copy(update={"nested_groups": False})
    flat = directory.authenticate("kim", KIM_PASSWORD)
    assert flat is not None and {g.name for g in flat.groups} == {"finance-ap", "loop-a"}
    assert set(directory.people()[person.external_id].groups) == set(flat.groups)


def test_unmapped_directory_groups_are_created_only_when_allowed(api: ApiHarness, corp: Corp) -> None:
    directory = _directory(api)
    directory.settings = directory.settings.model_copy(update={"unknown_groups": "create"})
    kim = bearer(login(api, "kim", KIM_PASSWORD))
    assert {g["name"] for g in api.me(kim).json()["user"]["groups"]} == {"재무팀", "finance-ap"}


def test_directory_users_sign_in_while_local_password_login_is_off(
    api: ApiHarness, corp: Corp, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.user("lee", groups=["재무팀"])  # a local account
    monkeypatch.setattr(api.container.settings.auth, "local_login", False)
    assert login(api, "kim", KIM_PASSWORD).status_code == 200
    refused = login(api, "lee", "correct-horse-battery-9")
    assert refused.status_code == 403 and refused.json()["code"] == "local_login_disabled"


def test_a_directory_account_cannot_be_given_a_local_password(api: ApiHarness, corp: Corp) -> None:
    kim = bearer(login(api, "kim", KIM_PASSWORD))
    own = api.client.post(
        "/api/v1/auth/password",
        json={"current_password": KIM_PASSWORD, "new_password": "a-new-local-password-1"},
        headers=kim,
    )
    assert own.status_code == 409 and own.json()["code"] == "password_managed_elsewhere", own.text
    by_admin = api.client.patch(
        f"/api/v1/users/{api.user_id('kim')}",
        json={"password": "a-new-local-password-1"},
        headers=api.admin(),
    )
    assert by_admin.status_code == 409
    assert api.me(kim).status_code == 200  # nothing was revoked
    with api.container.sessions() as session:
        user = session.scalar(select(User).where(User.username == "kim"))
        assert user is not None and user.password_hash is None


def test_start_tls_verifies_the_server_certificate_and_name(tmp_path: Path) -> None:
    with running_slapd(tmp_path / "tls-slapd", tls=True) as server:
        server.add_person("kim", KIM_PASSWORD, "김민수")
        assert server.tls is not None
        trusted = ldap_settings(server, start_tls=True, ca_file=server.tls[0])
        person = LdapDirectory(trusted).authenticate("kim", KIM_PASSWORD)
        assert person is not None and person.username == "kim"
        stranger = write_certificates(tmp_path / "other-ca", "Another CA")[0]
        for settings in (
            trusted.model_copy(update={"ca_file": stranger}),  # a certificate from a CA we do not trust
            trusted.model_copy(update={"url": server.url.replace("127.0.0.1", "localhost")}),  # wrong name
        ):
            with pytest.raises(LdapUnavailableError, match="LDAPStartTLSError"):
                LdapDirectory(settings).authenticate("kim", KIM_PASSWORD)


def test_a_listing_cut_short_by_the_server_deprovisions_nobody(tmp_path: Path) -> None:
    with running_slapd(tmp_path / "capped-slapd", service_size_limit=3) as server:  # one page too few
        seed(server)
        with pytest.raises(LdapIncompleteError, match="sizeLimitExceeded"):
            LdapDirectory(ldap_settings(server)).people()


def test_a_sync_that_would_deactivate_most_users_is_refused_unless_forced(
    api: ApiHarness, corp: Corp, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for uid, password in [
        ("kim", KIM_PASSWORD),
        ("lee", "lee-directory-pw-1"),
        ("choi", "choi-directory-pw-1"),
    ]:
        assert login(api, uid, password).status_code == 200
    kim = bearer(login(api, "kim", KIM_PASSWORD))
    directory = _directory(api)
    # A filter that now matches nobody (a typo, a renamed attribute …) looks like everyone leaving.
    directory.settings = directory.settings.model_copy(update={"user_filter": "(employeeType=nobody)"})
    with pytest.raises(MassDeprovisionError, match="3 of 3"):
        run_ldap_sync(api.container.sessions, directory)
    assert api.me(kim).status_code == 200  # nobody was deactivated
    with api.container.sessions() as session:
        state = session.get(IdentitySync, "ldap")
        assert state is not None and state.status == "error" and "--force" in (state.error or "")
    counts = run_ldap_sync(api.container.sessions, directory, force=True)
    assert counts.deprovisioned == 3 and api.me(kim).status_code == 401


def test_a_base_dn_that_does_not_exist_is_a_directory_error_not_a_crash(api: ApiHarness, corp: Corp) -> None:
    directory = _directory(api)
    directory.settings = directory.settings.model_copy(update={"user_base": f"ou=moved,{GROUPS}"})
    response = login(api, "kim", KIM_PASSWORD)
    assert response.status_code == 503 and response.json()["code"] == "directory_unavailable"
    with pytest.raises(LdapUnavailableError, match=r"(?i)nosuchobject"):
        run_ldap_sync(api.container.sessions, directory)
