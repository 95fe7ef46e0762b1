"""identity origin and sync state

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 14:30:00.000000

``users.origin`` / ``groups.origin``: where the account or group is managed (local, oidc, ldap, scim),
``external_id`` the source's id for it (unique per origin). ``identity_sync``: the last run of each
directory sync source (LDAP, SCIM) for the admin page and ``jikji identity status``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=20), nullable=False, server_default="local"))
        batch.add_column(sa.Column("external_id", sa.String(length=500), nullable=True))
        batch.create_index(batch.f("ix_users_origin"), ["origin"], unique=False)
        batch.create_unique_constraint(batch.f("uq_users_origin"), ["origin", "external_id"])
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=20), nullable=False, server_default="local"))
        batch.add_column(sa.Column("external_id", sa.String(length=500), nullable=True))
        batch.create_unique_constraint(batch.f("uq_groups_origin"), ["origin", "external_id"])
    op.create_table(
        "identity_sync",
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_identity_sync")),
    )


def downgrade() -> None:
    op.drop_table("identity_sync")
    with op.batch_alter_table("groups") as batch:
        batch.drop_constraint(batch.f("uq_groups_origin"), type_="unique")
        batch.drop_column("external_id")
        batch.drop_column("origin")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("uq_users_origin"), type_="unique")
        batch.drop_index(batch.f("ix_users_origin"))
        batch.drop_column("external_id")
        batch.drop_column("origin")
