"""An ASGI app served by a real uvicorn server in a thread, for tests that need a socket; and
:func:`started_or_skipped`, the start-or-skip rule for the other real servers the tests run."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

import pytest
import uvicorn
from starlette.types import ASGIApp

from tests.support.ports import free_port

START_TIMEOUT_S = 90.0  # a generous bound: start-up takes well under a second when all is well


class Startable(Protocol):
    """A server a test starts and stops (slapd, ``chroma run`` …)."""

    def start(self) -> None:
        """Start it and wait until it answers; raise when it cannot."""

    def stop(self) -> None:
        """Stop it (safe to call when it is not running)."""


ServerT = TypeVar("ServerT", bound=Startable)


@contextmanager
def started_or_skipped(
    server: ServerT, what: str, *, required: bool, errors: tuple[type[Exception], ...]
) -> Iterator[ServerT]:
    """``server`` started, and stopped afterwards. When it cannot start (one of ``errors``) the test is
    skipped, or fails when the server is ``required`` (CI): a missing server must not pass silently."""
    try:
        server.start()
    except errors as exc:
        server.stop()
        if required:
            pytest.fail(f"{what} is required here (CI) and could not start: {exc}")
        pytest.skip(f"no {what}: {exc}")
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def serve(app: ASGIApp, *, timeout_s: float = START_TIMEOUT_S) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port (lifespan on); yields its base URL, then stops it."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread, timeout_s)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _wait_started(server: uvicorn.Server, thread: threading.Thread, timeout_s: float) -> None:
    """Return once ``server`` listens; fail when its thread died or it is still starting at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started (see its log above)")
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start within {timeout_s:.0f}s")
        time.sleep(0.05)
