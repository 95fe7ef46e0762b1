"""``jikji migrate``: bring the database schema up to date."""

from __future__ import annotations

import argparse

from app.cli.common import open_container
from core.settings import Settings


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    """Apply the migrations (opening the container runs them) and say which database is current."""
    with open_container(settings):
        pass
    print(f"데이터베이스가 최신입니다 / database is up to date: {settings.database_url}")
    return 0
