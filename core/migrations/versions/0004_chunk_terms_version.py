"""chunk terms version

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms_version", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_chunks_terms_version"), ["terms_version"], unique=False)
    # Chunks from before this column were cut with the dictionary of their day: stamp them with the
    # current version, so a BM25 index saved under an older dictionary reads them all again.
    op.execute(
        "UPDATE chunks SET terms_version = (SELECT version FROM index_state WHERE name = 'dictionary') "
        "WHERE EXISTS (SELECT 1 FROM index_state WHERE name = 'dictionary' AND version > 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("chunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chunks_terms_version"))
        batch_op.drop_column("terms_version")
