"""adapter assignments

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 14:55:00.000000

``adapter_assignments``: which fine-tuned adapter answers a group's questions, switched on by a passed
gate run (``gate_run_id``) or an admin override (``override_reason``); one row per group.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adapter_assignments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("adapter", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("gate_run_id", sa.String(length=32), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_adapter_assignments_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gate_run_id"],
            ["gate_runs.id"],
            name=op.f("fk_adapter_assignments_gate_run_id_gate_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.id"],
            name=op.f("fk_adapter_assignments_changed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adapter_assignments")),
        sa.UniqueConstraint("group_id", name=op.f("uq_adapter_assignments_group_id")),
    )
    with op.batch_alter_table("adapter_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adapter_assignments_adapter"), ["adapter"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("adapter_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adapter_assignments_adapter"))
    op.drop_table("adapter_assignments")
