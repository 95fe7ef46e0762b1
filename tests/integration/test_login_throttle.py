"""Issue 16 item 3: login throttling per address and per name without locking the real user out, a cap
on concurrent password checks, and throttled attempts in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.factory import create_app
from app.api.ratelimit import PasswordSlots
from app.container import Container
from core.settings import AuthSettings, Settings
from tests.api_harness import PASSWORD, ApiHarness
from tests.integration.test_api_accounts import hold_the_clock
from tests.support.servers import serve
from ui.api_client import ApiClient, ApiClientError

pytestmark = pytest.mark.integration

WRONG = "not-the-password-1"


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL (there with the limits shared through SQL)."""
    return settings_on_each_database


@pytest.fixture
def app(container: Container, settings: Settings) -> Iterator[Any]:
    strict = settings.model_copy(
        update={"auth": AuthSettings(login_failures_per_name_per_minute=3, rate_limit_store="auto")}
    )
    application = create_app(strict, container)
    with TestClient(application):  # runs the lifespan once for every client below
        hold_the_clock(application)
        yield application


def _from(app: Any, address: str) -> TestClient:
    """A client at ``address`` (the API sees it as the caller's address)."""
    return TestClient(app, client=(address, 40000))


def _login(client: TestClient, name: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"username": name, "password": password})


def _audit(api: ApiHarness, admin: dict[str, str], outcome: str) -> list[dict[str, Any]]:
    events = api.client.get("/api/v1/audit", params={"action": "auth.login", "limit": 200}, headers=admin)
    return [e for e in events.json()["items"] if e["outcome"] == outcome]


def test_wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere(
    app: Any, container: Container
) -> None:
    """The probe: 20 wrong passwords locked the real user (admin included) out for a minute."""
    api = ApiHarness(container, _from(app, "10.0.0.1"))  # type: ignore[arg-type]
    api.admin()
    attacker = _from(app, "203.0.113.66")
    statuses = [_login(attacker, "admin", WRONG).status_code for _ in range(20)]
    assert statuses[0] == 401 and statuses[-1] == 429
    blocked = _login(attacker, "admin", PASSWORD)
    assert blocked.status_code == 429, "the attacking address is refused even the right password"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert _login(_from(app, "10.0.0.1"), "admin", PASSWORD).status_code == 200, "the admin still signs in"


def test_spraying_many_names_from_one_address_is_throttled_and_audited(
    app: Any, container: Container
) -> None:
    """The probe: twelve different names from one client all got 401."""
    api = ApiHarness(container, _from(app, "10.0.0.1"))  # type: ignore[arg-type]
    admin = api.admin()
    api.user("real-user")
    sprayer = _from(app, "198.51.100.7")
    statuses = [_login(sprayer, f"user{i}", WRONG).status_code for i in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429], "past ten failures an address gets no more password checks"
    assert _login(sprayer, "real-user", PASSWORD).status_code == 429
    assert _login(_from(app, "10.0.0.2"), "real-user", PASSWORD).status_code == 200
    throttled = _audit(api, admin, "throttled")
    assert len(throttled) == 3
    assert {e["client_ip"] for e in throttled} == {"198.51.100.7"}
    assert {e["detail"]["limit"] for e in throttled} == {"client"}
    assert {e["detail"]["username"] for e in throttled} == {"user10", "user11", "real-user"}


def test_a_name_guessed_from_many_addresses_still_admits_the_real_user(
    app: Any, container: Container
) -> None:
    api = ApiHarness(container, _from(app, "10.0.0.1"))  # type: ignore[arg-type]
    admin = api.admin()
    api.user("victim")
    for i in range(3):  # three failures from three addresses: the name is under attack
        assert _login(_from(app, f"192.0.2.{i}"), "victim", WRONG).status_code == 401
    again = _login(_from(app, "192.0.2.0"), "victim", WRONG)
    assert again.status_code == 429, "an address that already failed this name waits"
    assert again.json()["code"] == "rate_limited"
    assert _login(_from(app, "192.0.2.0"), "victim", PASSWORD).status_code == 429
    assert _login(_from(app, "192.0.2.99"), "victim", WRONG).status_code == 401, "a new address: one guess"
    assert _login(_from(app, "192.0.2.99"), "victim", WRONG).status_code == 429
    assert _login(_from(app, "10.0.0.9"), "victim", PASSWORD).status_code == 200, "the real user, no failures"
    assert {e["detail"]["limit"] for e in _audit(api, admin, "throttled")} == {"name"}


def test_password_checks_at_once_are_capped(app: Any, container: Container) -> None:
    api = ApiHarness(container, _from(app, "10.0.0.1"))  # type: ignore[arg-type]
    admin = api.admin()
    app.state.password_slots = PasswordSlots(1, wait_s=0.01)
    slots: PasswordSlots = app.state.password_slots
    assert slots.acquire()  # another login is being checked
    try:
        busy = _login(_from(app, "10.0.0.3"), "admin", PASSWORD)
    finally:
        slots.release()
    assert busy.status_code == 503
    assert busy.json()["code"] == "login_busy" and busy.json()["message_ko"] and busy.json()["message_en"]
    assert busy.headers["retry-after"] == "1"
    assert _login(_from(app, "10.0.0.3"), "admin", PASSWORD).status_code == 200
    assert [e["detail"]["limit"] for e in _audit(api, admin, "throttled")] == ["verify_concurrency"]


def test_the_ui_passes_each_browser_address_so_one_person_cannot_lock_everyone_out(
    app: Any, container: Container
) -> None:
    """Every UI sign-in reaches the API from the UI server's own address: without the browser's address
    in X-Forwarded-For (honoured by uvicorn from 127.0.0.1 only), ten wrong passwords through the UI
    would have refused every other UI user for a minute."""
    ApiHarness(container, _from(app, "10.0.0.1")).user("real-user")  # type: ignore[arg-type]
    with serve(app) as base:
        attacker = ApiClient(base)
        statuses = []
        for i in range(12):
            try:
                attacker.login(f"user{i}", WRONG, client_address="198.51.100.7")
            except ApiClientError as exc:
                statuses.append(exc.status)
        assert statuses[-1] == 429, statuses  # the per-address limit saw the attacker's browser
        assert ApiClient(base).login("real-user", PASSWORD, client_address="203.0.113.9")["username"] == (
            "real-user"
        )
