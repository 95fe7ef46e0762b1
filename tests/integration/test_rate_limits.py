"""Rate limits shared through SQL, so several API processes grant one limit between them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.api.ratelimit import RateLimiter, SqlRateLimiter, build_limiters
from core.models import RateCounter
from core.settings import AuthSettings

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0  # the start of a 60 s window (divisible by 60)


@pytest.fixture
def sessions(sessions_on_each_database: sessionmaker[Session]) -> sessionmaker[Session]:
    return sessions_on_each_database


def test_two_processes_share_one_limit(sessions: sessionmaker[Session]) -> None:
    first, second = SqlRateLimiter(sessions, "api", 5), SqlRateLimiter(sessions, "api", 5)
    allowed = [limiter.check("user-1", T0 + i) for i, limiter in enumerate([first, second] * 3)]
    assert allowed[:5] == [0.0] * 5
    assert allowed[5] > 0, "the sixth request in the window is refused, whichever process takes it"
    assert second.check("user-2", T0 + 6) == 0.0, "other keys have their own count"
    assert SqlRateLimiter(sessions, "login", 5).check("user-1", T0 + 6) == 0.0, "and other scopes"


def test_retry_after_is_when_a_request_fits_again(sessions: sessionmaker[Session]) -> None:
    limiter = SqlRateLimiter(sessions, "chat", 3)
    for i in range(3):
        assert limiter.check("key", T0 + 10 + i) == 0.0
    wait = limiter.check("key", T0 + 30)
    assert 30.0 <= wait <= 60.0
    assert limiter.check("key", T0 + 30 + wait - 1) > 0
    assert limiter.check("key", T0 + 30 + wait + 0.01) == 0.0


def test_refused_requests_are_not_counted(sessions: sessionmaker[Session]) -> None:
    limiter = SqlRateLimiter(sessions, "api", 2)
    assert limiter.check("k", T0) == limiter.check("k", T0 + 1) == 0.0
    waits = [limiter.check("k", T0 + 2 + i * 0.1) for i in range(50)]
    assert all(w > 0 for w in waits)
    assert limiter.check("k", T0 + 2 + waits[0] + 0.01) == 0.0, "hammering did not push the wait out"


def test_the_previous_window_still_weighs_in(sessions: sessionmaker[Session]) -> None:
    limiter = SqlRateLimiter(sessions, "api", 4)
    for i in range(4):
        assert limiter.check("k", T0 + 50 + i) == 0.0
    # Just after the boundary the last window counts almost whole: 4 x 0.98, rounded down, is 3.
    assert limiter.check("k", T0 + 61) == 0.0
    wait = limiter.check("k", T0 + 62)
    assert wait > 0
    # 4 x (1 - f) + 1 < 4 from f = 1/4 on: 15 s into the window, 13 s from now.
    assert wait == pytest.approx(13.0, abs=0.01)
    assert limiter.check("k", T0 + 62 + wait) == 0.0


def test_across_a_window_boundary_at_most_one_more_passes(sessions: sessionmaker[Session]) -> None:
    """The estimate takes the last window's requests as spread evenly; these came late in it."""
    limiter = SqlRateLimiter(sessions, "api", 5)
    assert [limiter.check("k", T0 + 57 + i) for i in range(5)] == [0.0] * 5
    # Counting the last window as spread evenly lets one more through here, not two.
    assert limiter.check("k", T0 + 62) == 0.0
    assert limiter.check("k", T0 + 63) > 0


def test_keys_are_stored_hashed_and_old_windows_dropped(sessions: sessionmaker[Session]) -> None:
    limiter = SqlRateLimiter(sessions, "login", 10)
    limiter.check("kim.minsu", T0)
    limiter.check("kim.minsu", T0 + 600)
    with sessions() as session:
        rows = session.execute(select(RateCounter.key_hash, RateCounter.window_index)).all()
        assert session.scalar(select(func.count()).select_from(RateCounter)) == 1
    assert rows[0][0] != "kim.minsu" and len(rows[0][0]) == 64
    assert rows[0][1] == int((T0 + 600) // 60)


def test_the_store_follows_the_settings(sessions: sessionmaker[Session]) -> None:
    def kinds(store: str, on_sqlite: bool) -> set[type]:
        settings = AuthSettings(rate_limit_store=store)  # type: ignore[arg-type]
        return {type(limiter) for limiter in build_limiters(settings, sessions, on_sqlite=on_sqlite).values()}

    assert kinds("auto", on_sqlite=True) == {RateLimiter}
    assert kinds("auto", on_sqlite=False) == {SqlRateLimiter}
    assert kinds("database", on_sqlite=True) == {SqlRateLimiter}
    assert kinds("memory", on_sqlite=False) == {RateLimiter}
