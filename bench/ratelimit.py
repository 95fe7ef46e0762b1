"""What a rate-limit check costs per request: in process, and shared through SQLite and PostgreSQL.

Usage: python -m bench.ratelimit [--checks N] [--postgres-url URL]

Without ``--postgres-url`` a throwaway PostgreSQL server is started from the local binaries (as in
the tests). Each store answers N checks for five keys under a limit no check reaches, so every
check takes the allowed path: one upsert (it reads the previous window, locks and increments the
current one) and a commit.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from app.api.ratelimit import Limiter, RateLimiter, SqlRateLimiter
from bench.common import machine
from core.db import make_engine, make_session_factory
from core.migrate import upgrade_to_head
from retrieval.evaluation import percentile as pct
from tests.postgres import fresh_database, postgres_server

KEYS = 5


@contextmanager
def sql_limiter(url: str) -> Iterator[Limiter]:
    engine = make_engine(url)
    upgrade_to_head(engine)
    try:
        yield SqlRateLimiter(make_session_factory(engine), "api", 10**9)
    finally:
        engine.dispose()


def timings(limiter: Limiter, checks: int) -> list[float]:
    for i in range(50):  # warm the connection pool and the rows
        limiter.check(f"user-{i % KEYS}")
    times = []
    for i in range(checks):
        started = time.perf_counter()
        limiter.check(f"user-{i % KEYS}")
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--postgres-url", default=None, help="a server where databases may be created")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = args.postgres_url or stack.enter_context(postgres_server())
        stores: dict[str, Limiter] = {
            "in process (memory)": RateLimiter(10**9),
            "SQLite file (WAL)": stack.enter_context(sql_limiter(f"sqlite:///{work / 'rate.db'}")),
            "PostgreSQL (Unix socket)": stack.enter_context(
                sql_limiter(stack.enter_context(fresh_database(server)))
            ),
        }
        for label, limiter in stores.items():
            times = timings(limiter, args.checks)
            print(f"{label:<28} p50 {pct(times, 50):7.3f}  p95 {pct(times, 95):7.3f} ms per check")


if __name__ == "__main__":
    main()
