"""golden items

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 11:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "golden_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("document_ids", sa.JSON(), nullable=False),
        sa.Column("article", sa.String(length=200), nullable=True),
        sa.Column("group_ids", sa.JSON(), nullable=False),
        sa.Column("source_feedback_id", sa.String(length=32), nullable=True),
        sa.Column("source_message_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_golden_items_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_golden_items")),
        sa.UniqueConstraint("item_id", "version", name=op.f("uq_golden_items_item_id")),
    )
    with op.batch_alter_table("golden_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_golden_items_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_golden_items_is_current"), ["is_current"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("golden_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_golden_items_is_current"))
        batch_op.drop_index(batch_op.f("ix_golden_items_item_id"))
    op.drop_table("golden_items")
