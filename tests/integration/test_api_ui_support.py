"""API pieces the browser UI needs (issue 18): the first-run hint, duplicate uploads, titles, renaming.

On SQLite and on PostgreSQL, through the real app (FastAPI TestClient) over the test container.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.models import User
from core.settings import Settings
from tests.api_harness import ApiHarness


@pytest.fixture
def settings(settings_on_each_database: Settings) -> Settings:
    """These tests run on SQLite and on PostgreSQL."""
    return settings_on_each_database


def test_setup_status_says_only_whether_an_active_admin_exists(api: ApiHarness) -> None:
    response = api.client.get("/api/v1/auth/setup")  # no credentials: the sign-in page asks
    assert response.status_code == 200
    assert response.json() == {"needs_admin": True}
    api.user("kim")
    assert api.client.get("/api/v1/auth/setup").json() == {"needs_admin": True}, "an employee is no admin"
    api.admin()
    assert api.client.get("/api/v1/auth/setup").json() == {"needs_admin": False}
    with api.container.sessions.begin() as session:
        session.execute(update(User).where(User.role == "admin").values(is_active=False))
    assert api.client.get("/api/v1/auth/setup").json() == {"needs_admin": True}
