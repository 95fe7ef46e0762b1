"""document title locked

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 15:10:00.000000

``documents.title_locked``: an admin renamed the document, so new versions keep that title instead of
the one read from the file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("title_locked", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("title_locked")
