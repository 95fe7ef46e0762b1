"""The worker's idle loop removes login sessions that ended more than a day ago (rows never pile up)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.container import Container
from app.services import accounts
from core.models import AuthSession

pytestmark = pytest.mark.integration


def test_an_idle_worker_purges_ended_sessions(container: Container) -> None:
    with container.sessions.begin() as session:
        user = accounts.create_user(session, "kim", "correct-horse-battery-9")
        accounts.start_session(session, user, timedelta(days=-2))  # expired two days ago
        accounts.start_session(session, user, timedelta(hours=1))  # still valid
    stop = threading.Event()
    worker = threading.Thread(target=container.job_runner().run_forever, args=(stop, 0.05))
    worker.start()
    try:
        for _ in range(100):
            with container.sessions() as session:
                left = session.scalar(select(func.count()).select_from(AuthSession))
            if left == 1:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(10)
    assert left == 1, "the expired session is gone, the valid one stays"
