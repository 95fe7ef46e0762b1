"""Admission control for answer generation: a bounded queue per API process.

At most ``max_active`` answers are generated at once; up to ``max_waiting`` more requests wait for a
turn, first come first served. A request beyond that, or one that waited ``wait_timeout_s``, is
refused with 503 and a ``Retry-After`` estimated from how long recent answers held their turn, so an
overloaded server answers at once instead of letting latency grow without bound.

Requests are admitted before the route runs (see :func:`app.api.admission.answer_slot`), so a
refused request has written nothing: no question without an answer is left in a conversation.

All methods run on the event loop of the API process (the FastAPI dependency is async): no locks.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass

from app.services.errors import AppError
from core.settings import AnswerQueueSettings

RETRY_AFTER_MIN_S = 1
RETRY_AFTER_MAX_S = 120
FIRST_GUESS_S = 5.0
"""Assumed time an answer holds its turn before any answer has finished."""
SMOOTHING = 0.2
"""Weight of the latest answer in the moving average of turn durations."""


@dataclass(frozen=True, slots=True)
class QueueState:
    """A snapshot of the queue (for ``/health`` and tests)."""

    active: int
    waiting: int
    max_active: int
    max_waiting: int


class AnswerQueue:
    """Counts answer generations in progress and hands turns to waiting requests in order."""

    def __init__(self, settings: AnswerQueueSettings) -> None:
        self.settings = settings
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._mean_turn_s = FIRST_GUESS_S

    def state(self) -> QueueState:
        """How many answers run and wait now."""
        limits = self.settings
        return QueueState(self._active, len(self._waiters), limits.max_active, limits.max_waiting)

    async def acquire(self) -> float:
        """Wait for a turn; returns when it started (``time.monotonic()``) for :meth:`release`.

        Raises :class:`AppError` 503 ``server_busy`` at once when the queue is full, or after
        ``wait_timeout_s`` without a turn.
        """
        if self._active < self.settings.max_active and not self._waiters:
            self._active += 1
            return time.monotonic()
        if len(self._waiters) >= self.settings.max_waiting:
            raise self._busy()
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            async with asyncio.timeout(self.settings.wait_timeout_s):
                await turn
        except (TimeoutError, asyncio.CancelledError) as exc:
            self._give_up(turn)
            if isinstance(exc, TimeoutError):
                raise self._busy() from None
            raise
        return time.monotonic()

    def release(self, started: float) -> None:
        """End a turn taken at ``started``: the next waiting request gets it, or the count drops."""
        elapsed = max(0.0, time.monotonic() - started)
        self._mean_turn_s += SMOOTHING * (elapsed - self._mean_turn_s)
        self._hand_on()

    def retry_after_s(self) -> int:
        """Seconds until a new request could expect a turn: the queue ahead of it, at the recent pace."""
        ahead = len(self._waiters) + 1
        estimate = math.ceil(self._mean_turn_s * ahead / self.settings.max_active)
        return max(RETRY_AFTER_MIN_S, min(RETRY_AFTER_MAX_S, estimate))

    def _hand_on(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the turn passes on: the active count stays
                return
        self._active -= 1

    def _give_up(self, turn: asyncio.Future[None]) -> None:
        """A waiter leaves (timed out or its client went away); a turn already handed to it passes on."""
        if turn in self._waiters:
            self._waiters.remove(turn)
        if turn.done() and not turn.cancelled():
            self._hand_on()
        else:
            turn.cancel()

    def _busy(self) -> AppError:
        return AppError(
            503,
            "server_busy",
            "지금은 답변 요청이 많아 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.",
            "Too many answers are being generated right now; please try again shortly.",
            headers={"Retry-After": str(self.retry_after_s())},
        )
