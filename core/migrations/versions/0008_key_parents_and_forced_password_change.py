"""api key parents and forced password change

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00.000000

``api_keys.parent_id``: the key a key was made through, so revoking a key revokes its children.
``users.must_change_password``: set for a generated password (the first admin); the API refuses
everything but changing it until the user has.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_api_keys_parent_id"), ["parent_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_api_keys_parent_id_api_keys"), "api_keys", ["parent_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(batch.f("fk_api_keys_parent_id_api_keys"), type_="foreignkey")
        batch.drop_index(batch.f("ix_api_keys_parent_id"))
        batch.drop_column("parent_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
