"""The identity section of the admin users page (AppTest with the real API client against the real API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.models import IdentitySync
from retrieval.tokenizer import KiwiTokenizer
from tests.support.ui_backend import UiBackend, keep_main_module_fixture, running_backend  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture
def backend(tmp_path: Path, kiwi: KiwiTokenizer) -> Iterator[UiBackend]:
    """An admin and an employee; LDAP's last sync failed."""
    with running_backend(tmp_path, kiwi) as real:
        real.user("admin", role="admin")
        real.user("kim")
        with real.container.sessions.begin() as session:
            session.add(IdentitySync(source="ldap", status="error", counts={}, error="bind failed"))
        yield real


def _render_users_page() -> None:
    import importlib

    importlib.import_module("ui.pages.admin_users").render()


def test_admins_see_sources_health_last_sync_and_origins(backend: UiBackend) -> None:
    at = AppTest.from_function(_render_users_page, default_timeout=30)
    at.session_state["api"] = backend.client("admin")
    at.run()
    assert not at.exception
    assert any("신원 소스" in h.value for h in at.subheader)
    frames = [d.value for d in at.dataframe]
    sources = next(f for f in frames if "종류" in f.columns)
    assert list(sources["종류"]) == ["local", "ldap", "scim"]
    assert sources["사용자 수"].tolist() == [2, 0, 0]
    assert "bind failed" in list(sources["마지막 동기화"])[1]
    origins = next(f for f in frames if "출처" in f.columns)
    assert sorted(zip(origins["사용자"], origins["출처"], strict=True)) == [
        ("admin", "local"),
        ("kim", "local"),
    ]
