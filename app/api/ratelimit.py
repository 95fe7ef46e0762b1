"""Rate limits per user, per API key and on logins (429 with Retry-After).

Two stores behind one interface: :class:`RateLimiter` keeps a sliding log in this process (one API
process, e.g. the embedded SQLite set-up); :class:`SqlRateLimiter` keeps counters in SQL, so several
API processes behind a balancer share one limit instead of each granting its own.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, delete, func, literal, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.elements import ColumnElement

from core.db import transaction, upsert_for
from core.models import RateCounter
from core.settings import AuthSettings


class Limiter(Protocol):
    """Counts events per key against a limit per window."""

    def check(self, key: str, now: float | None = None) -> float:
        """Record an event for ``key``; returns 0 when allowed, else seconds until one is allowed."""
        ...

    def peek(self, key: str, now: float | None = None) -> float:
        """Like :meth:`check` without recording: 0 when one more event would be allowed."""
        ...


def retry_after_header(wait_s: float) -> str:
    """Retry-After value in whole seconds (at least 1)."""
    return str(max(1, math.ceil(wait_s)))


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds for each key, counted in this process."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> float:
        """Record an event for ``key``; returns 0 when allowed, else seconds until one is allowed."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and moment - events[0] >= self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return max(0.001, self.window_s - (moment - events[0]))
            events.append(moment)
            return 0.0

    def peek(self, key: str, now: float | None = None) -> float:
        """0 when one more event for ``key`` would be allowed, else the seconds until it would."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._events.get(key, ()) if moment - t < self.window_s]
            if len(recent) >= self.limit:
                return max(0.001, self.window_s - (moment - recent[0]))
            return 0.0


class SqlRateLimiter:
    """About ``limit`` events per ``window_s`` seconds for each key, shared through SQL.

    A sliding-window counter: events are counted in fixed windows, and the previous window's count
    is weighted by how much of it still lies within the last ``window_s`` seconds (an estimate: see
    :meth:`_wait`). Only allowed events are counted, so a client that waits for Retry-After gets
    through. The row of the current window is locked while it is checked, so concurrent processes
    cannot both take the last slot. Keys are stored as SHA-256 hashes (no user names in the
    table); windows older than the previous one are deleted about once a window per process, in a
    transaction of their own. Windows come from each host's clock, so API hosts need synchronised
    clocks (NTP).
    """

    def __init__(
        self, sessions: sessionmaker[Session], scope: str, limit: int, window_s: float = 60.0
    ) -> None:
        self.limit, self.window_s = limit, window_s
        self._sessions = sessions
        self._scope = scope
        self._last_cleanup = -math.inf
        self.clock: Callable[[], float] = time.time  # wall time: processes on several hosts share it

    def check(self, key: str, now: float | None = None) -> float:
        """Record an event for ``key``; returns 0 when allowed, else seconds until one is allowed."""
        moment = self.clock() if now is None else now
        window = int(moment // self.window_s)
        into_window = (moment - window * self.window_s) / self.window_s
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        with transaction(self._sessions) as session:
            if session.get_bind().dialect.name == "postgresql":
                # A counter lost in a crash costs nothing; waiting for the disk on every request does.
                session.execute(text("SET LOCAL synchronous_commit = off"))
            counted = session.execute(self._count_if_allowed(session, key_hash, window, into_window)).first()
            wait = 0.0
            if counted is None:  # refused: read both windows to say when the next one fits
                rows = session.execute(
                    select(RateCounter.window_index, RateCounter.hits).where(
                        self._rows(key_hash, (window, window - 1))
                    )
                )
                hits = dict(rows.tuples().all())
                wait = self._wait(hits.get(window, 0), hits.get(window - 1, 0), into_window)
        if moment - self._last_cleanup >= self.window_s:
            self._last_cleanup = moment
            stale = and_(RateCounter.scope == self._scope, RateCounter.window_index < window - 1)
            with transaction(self._sessions) as session:
                session.execute(delete(RateCounter).where(stale))
        return wait

    def peek(self, key: str, now: float | None = None) -> float:
        """0 when one more event for ``key`` would be allowed, else the seconds until it would."""
        moment = self.clock() if now is None else now
        window = int(moment // self.window_s)
        into_window = (moment - window * self.window_s) / self.window_s
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        with transaction(self._sessions) as session:
            rows = session.execute(
                select(RateCounter.window_index, RateCounter.hits).where(
                    self._rows(key_hash, (window, window - 1))
                )
            )
            hits = dict(rows.tuples().all())
        return self._wait(hits.get(window, 0), hits.get(window - 1, 0), into_window)

    def _count_if_allowed(
        self, session: Session, key_hash: str, window: int, into_window: float
    ) -> ReturningInsert[tuple[int]]:
        """One upsert that adds this event to the window's row only if it fits; returns a row when it did.

        ``floor(weighted) + hits + 1 <= limit`` is written ``weighted + hits < limit`` (the same for
        whole numbers), which needs no rounding function. The row is locked by the upsert itself, so
        two processes cannot both take the last slot.
        """
        previous = select(RateCounter.hits).where(self._rows(key_hash, (window - 1,))).scalar_subquery()
        weighted = func.coalesce(previous, 0) * (1.0 - into_window)
        first = select(literal(self._scope), literal(key_hash), literal(window), literal(1)).where(
            weighted < self.limit
        )
        insert = upsert_for(session)
        return (
            insert(RateCounter)
            .from_select(["scope", "key_hash", "window_index", "hits"], first)
            .on_conflict_do_update(
                index_elements=["scope", "key_hash", "window_index"],
                set_={"hits": RateCounter.hits + 1},
                where=RateCounter.hits + weighted < self.limit,
            )
            .returning(RateCounter.hits)
        )

    def _rows(self, key_hash: str, windows: tuple[int, ...]) -> ColumnElement[bool]:
        return and_(
            RateCounter.scope == self._scope,
            RateCounter.key_hash == key_hash,
            RateCounter.window_index.in_(windows),
        )

    def _wait(self, current: int, previous: int, into_window: float) -> float:
        """0 when one more event fits now, else the seconds until it does (without other events).

        An event fits while ``floor(previous * (1 - f)) + current + 1 <= limit``, ``f`` being how
        far into the current window it is. The previous window's events are taken as spread evenly
        over it, so the limit is approximate: when they came late in it, one event more may pass
        than an exact sliding log would let through; when they came early, a few fewer.
        """
        if int(previous * (1.0 - into_window)) + current + 1 <= self.limit:
            return 0.0
        if current < self.limit and previous > 0:
            # The previous window weighs less later on: it fits once previous * (1 - f) < limit - current
            fits_at = 1.0 - (self.limit - current) / previous
            return max(0.001, (fits_at - into_window) * self.window_s + 0.001)
        # Not in this window: in the next one, this window's count is the weighted one.
        fits_at = max(0.0, 1.0 - self.limit / current) if current else 0.0
        return max(0.001, (1.0 - into_window + fits_at) * self.window_s + 0.001)


def build_limiters(
    settings: AuthSettings, sessions: sessionmaker[Session], on_sqlite: bool
) -> dict[str, Limiter]:
    """The API's limiters in the store the settings choose: ``api``, ``chat``, and the login ones
    (``login``, ``login_client``, ``login_name``, ``login_strike``: see :class:`LoginThrottle`).

    ``auto`` keeps them in SQL except on SQLite, whose single API process needs no sharing and
    whose one writer at a time should not be spent on counting requests.
    """
    limits = {
        "api": settings.rate_limit_per_minute,
        "chat": settings.chat_rate_limit_per_minute,
        "login": settings.login_attempts_per_minute,
        "login_client": settings.login_failures_per_client_per_minute,
        "login_name": settings.login_failures_per_name_per_minute,
        "login_strike": 1,
    }
    store = settings.rate_limit_store
    if store == "database" or (store == "auto" and not on_sqlite):
        return {scope: SqlRateLimiter(sessions, scope, limit) for scope, limit in limits.items()}
    return {scope: RateLimiter(limit) for scope, limit in limits.items()}


class PasswordSlots:
    """At most ``concurrency`` password verifications at once in this process (each Argon2id check
    takes about 64 MiB and 120 ms of a core); a caller waits at most ``wait_s`` for a slot."""

    def __init__(self, concurrency: int, wait_s: float = 1.0) -> None:
        self._slots = threading.BoundedSemaphore(concurrency)
        self.wait_s = wait_s

    def acquire(self) -> bool:
        """Take a slot; False when none came free within ``wait_s``."""
        return self._slots.acquire(timeout=self.wait_s)

    def release(self) -> None:
        """Give the slot back."""
        self._slots.release()


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """Password guessing limits that do not lock the real user out.

    * ``attempts``: every attempt per (user name, client address), counted before the password is
      checked; an attacker at one address locks only that address out of that name.
    * ``client_failures``: failed attempts per client address over all names (password spraying).
    * ``name_failures`` and ``strikes``: failures per name from every address. Past that limit the name
      is under attack, and only clients in good standing (no failure of their own for that name in the
      window: ``strikes``) may still try; so many addresses get one guess each, and the real user, who
      has not failed, still signs in.
    """

    attempts: Limiter
    client_failures: Limiter
    name_failures: Limiter
    strikes: Limiter

    @classmethod
    def from_limiters(cls, limiters: dict[str, Limiter]) -> LoginThrottle:
        """The throttle over the login limiters of :func:`build_limiters`."""
        return cls(
            limiters["login"], limiters["login_client"], limiters["login_name"], limiters["login_strike"]
        )

    def admit(self, name: str, client: str) -> tuple[str, float] | None:
        """Count an attempt; ``(limit, wait_s)`` when it is refused, else None."""
        wait = self.attempts.check(f"{name}\n{client}")
        if wait:
            return "name_and_client", wait
        return self.refusal(name, client)

    def refusal(self, name: str, client: str) -> tuple[str, float] | None:
        """``(limit, wait_s)`` when failures already recorded refuse this attempt (nothing counted)."""
        wait = self.client_failures.peek(client)
        if wait:
            return "client", wait
        if self.name_failures.peek(name):
            strike = self.strikes.peek(f"{name}\n{client}")
            if strike:
                return "name", strike
        return None

    def failed(self, name: str, client: str) -> None:
        """Record a wrong password."""
        self.client_failures.check(client)
        self.name_failures.check(name)
        self.strikes.check(f"{name}\n{client}")
