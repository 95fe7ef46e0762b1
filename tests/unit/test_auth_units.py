"""Passwords, bearer secrets, principals and rate limits, without any service."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from app.api.ratelimit import Limiter, LoginThrottle, RateLimiter, retry_after_header
from app.auth import passwords, tokens
from app.auth.principal import (
    ADMIN,
    CHAT,
    DOCUMENTS_READ,
    KEYS,
    ROLE_ADMIN,
    ROLE_EMPLOYEE,
    ROLE_SCOPES,
    SEARCH,
    Principal,
)

# --- passwords -----------------------------------------------------------------------------------


def test_password_hash_is_salted_argon2id_and_verifies() -> None:
    first = passwords.hash_password("봄날의-햇살-2024")
    second = passwords.hash_password("봄날의-햇살-2024")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert "봄날의" not in first
    assert passwords.verify_password(first, "봄날의-햇살-2024")
    assert passwords.verify_password(second, "봄날의-햇살-2024")
    assert not passwords.verify_password(first, "봄날의-햇살-2025")
    assert not passwords.needs_rehash(first)


def test_broken_hash_is_a_mismatch_not_an_error() -> None:
    assert not passwords.verify_password("not-a-hash", "whatever-password")
    assert not passwords.verify_password("", "whatever-password")


class _RecordingHasher:
    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified_against: list[str] = []

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified_against.append(password_hash)
        return bool(self.real.verify(password_hash, password))


def test_unknown_user_still_pays_for_one_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _RecordingHasher(passwords._HASHER)
    monkeypatch.setattr(passwords, "_HASHER", recorder)
    assert not passwords.verify_password(None, "anything-at-all")
    assert recorder.verified_against == [passwords._DUMMY_HASH]
    # Even the dummy's own password does not log anyone in.
    assert not passwords.verify_password(None, "jikji-timing-equaliser")


# --- bearer secrets ------------------------------------------------------------------------------


def test_session_tokens_and_api_keys_are_told_apart_by_prefix() -> None:
    session_token = tokens.new_session_token()
    key = tokens.new_api_key()
    assert session_token.startswith("jks_")
    assert key.startswith("jk_")
    assert not key.startswith("jks_")
    assert tokens.is_api_key(key)
    assert not tokens.is_api_key(session_token)
    assert len(key) > 40  # 256 random bits
    assert tokens.new_api_key() != key


def test_secret_hash_is_sha256_hex_and_display_prefix_cannot_be_used() -> None:
    key = tokens.new_api_key()
    digest = tokens.hash_secret(key)
    assert digest == hashlib.sha256(key.encode()).hexdigest()
    assert len(digest) == 64
    assert tokens.hash_secret(key) == digest
    assert tokens.hash_secret(key + "x") != digest
    shown = tokens.display_prefix(key)
    assert key.startswith(shown)
    assert len(shown) == tokens.KEY_DISPLAY_CHARS < len(key) - 30


# --- principals ----------------------------------------------------------------------------------


def _principal(**overrides: Any) -> Principal:
    fields: dict[str, Any] = {
        "user_id": "u1",
        "username": "kim",
        "role": ROLE_EMPLOYEE,
        "group_ids": frozenset({"g-a"}),
        "scopes": ROLE_SCOPES[ROLE_EMPLOYEE],
    }
    fields.update(overrides)
    return Principal(**fields)


def test_role_scopes() -> None:
    assert ROLE_SCOPES[ROLE_EMPLOYEE] == {SEARCH, CHAT, DOCUMENTS_READ, KEYS}
    assert ADMIN in ROLE_SCOPES[ROLE_ADMIN]
    assert ROLE_SCOPES[ROLE_EMPLOYEE] < ROLE_SCOPES[ROLE_ADMIN]


def test_employee_principal_sees_its_groups_only() -> None:
    employee = _principal()
    assert employee.allows(SEARCH) and not employee.allows(ADMIN)
    assert not employee.is_admin and not employee.sees_all_documents
    scope = employee.access_scope()
    assert scope.group_ids == {"g-a"} and not scope.is_admin
    assert employee.rate_key == "user:u1"


def test_admin_role_without_admin_scope_is_not_admin() -> None:
    narrowed_key = _principal(role=ROLE_ADMIN, scopes=frozenset({SEARCH}), api_key_id="k1")
    assert not narrowed_key.is_admin
    assert not narrowed_key.access_scope().is_admin
    assert narrowed_key.rate_key == "key:k1"


def test_admin_key_narrowed_to_groups_does_not_see_every_document() -> None:
    full = _principal(role=ROLE_ADMIN, scopes=ROLE_SCOPES[ROLE_ADMIN])
    assert full.is_admin and full.sees_all_documents and full.access_scope().is_admin
    narrowed = _principal(
        role=ROLE_ADMIN,
        scopes=ROLE_SCOPES[ROLE_ADMIN],
        group_ids=frozenset({"g-b"}),
        api_key_id="k2",
        groups_narrowed=True,
    )
    assert not narrowed.is_admin  # no admin endpoints through a group-narrowed key
    assert not narrowed.sees_all_documents
    assert narrowed.access_scope().group_ids == {"g-b"}
    assert not narrowed.access_scope().is_admin


# --- rate limits ---------------------------------------------------------------------------------


def test_rate_limiter_sliding_window() -> None:
    limiter = RateLimiter(3, window_s=60.0)
    assert limiter.check("user:a", now=0.0) == 0
    assert limiter.check("user:a", now=1.0) == 0
    assert limiter.check("user:a", now=2.0) == 0
    assert limiter.check("user:a", now=3.0) == pytest.approx(57.0)
    assert limiter.check("user:b", now=3.0) == 0  # keys are independent
    # A refused request is not counted; the first event leaves the window at t=60.
    assert limiter.check("user:a", now=59.5) == pytest.approx(0.5)
    assert limiter.check("user:a", now=60.0) == 0
    assert limiter.check("user:a", now=60.5) == pytest.approx(0.5)
    assert limiter.check("user:a", now=61.0) == 0


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after_header(0.001) == "1"
    assert retry_after_header(0.5) == "1"
    assert retry_after_header(57.0) == "57"
    assert retry_after_header(57.2) == "58"


def test_peek_does_not_count() -> None:
    limiter = RateLimiter(2, window_s=60)
    assert limiter.peek("k", now=0) == limiter.peek("k", now=0) == 0.0
    assert limiter.check("k", now=1) == limiter.check("k", now=2) == 0.0
    assert limiter.peek("k", now=3) == pytest.approx(58.0)
    assert limiter.peek("k", now=61.5) == 0.0


def test_login_throttle_lets_a_client_in_good_standing_try_a_name_under_attack() -> None:
    limiters: dict[str, Limiter] = {
        "login": RateLimiter(10),
        "login_client": RateLimiter(10),
        "login_name": RateLimiter(2),
        "login_strike": RateLimiter(1),
    }
    throttle = LoginThrottle.from_limiters(limiters)
    for client in ("a", "b"):
        assert throttle.admit("victim", client) is None
        throttle.failed("victim", client)
    refused = throttle.admit("victim", "a")
    assert refused is not None and refused[0] == "name"
    assert throttle.admit("victim", "c") is None, "no failure of its own: in good standing"
    assert throttle.admit("other", "a") is None, "other names are not under attack"
