"""The packaged Alembic migrations build exactly the schema the models describe, and upgrade old data."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from core.migrate import alembic_config, upgrade_to_head
from core.models import Base

pytestmark = pytest.mark.integration


def test_migrations_match_the_models(tmp_path: Path, database_url: str | None) -> None:
    engine = create_engine(database_url or f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade_to_head(engine)
    upgrade_to_head(engine)  # a second start changes nothing
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_chunks_from_before_terms_version_are_stamped_with_the_current_dictionary(tmp_path: Path) -> None:
    """So a BM25 index saved under an older dictionary reads them all back after the upgrade."""
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    url = engine.url.render_as_string(hide_password=False)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
        connection.execute(
            text("INSERT INTO index_state (name, version, updated_at) VALUES ('dictionary', 3, '2026-12-01')")
        )
        connection.execute(
            text(
                "INSERT INTO chunks (id, document_id, version_id, ordinal, text, section_path, token_count, "
                "lexical_tokens) VALUES ('c1', 'd1', 'v1', 0, '본문', '', 1, '[]')"
            )
        )
    upgrade_to_head(engine)
    with engine.connect() as connection:
        stamped = connection.execute(text("SELECT terms_version FROM chunks WHERE id = 'c1'")).scalar_one()
    engine.dispose()
    assert stamped == 3
