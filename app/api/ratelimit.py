"""In-process sliding-window rate limits per user and per API key (429 with Retry-After).

Limits are per API process; with several processes behind a balancer each enforces its own window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds for each key."""

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

    @staticmethod
    def retry_after_header(wait_s: float) -> str:
        """Retry-After value in whole seconds (at least 1)."""
        return str(max(1, math.ceil(wait_s)))
