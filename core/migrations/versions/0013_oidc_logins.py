"""oidc sign-ins and user e-mail

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 14:50:00.000000

``oidc_logins``: each sign-in through an OpenID Connect provider (state and browser binding hashes,
PKCE verifier and nonce until the callback, the one-time hand-off code's hash, the session it opened).
``users.email``: the e-mail address an identity source gives.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
    op.create_table(
        "oidc_logins",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=True),
        sa.Column("code_verifier", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("handoff_hash", sa.String(length=64), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oidc_logins_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_sessions.id"],
            name=op.f("fk_oidc_logins_session_id_auth_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_logins")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oidc_logins_state_hash")),
        sa.UniqueConstraint("handoff_hash", name=op.f("uq_oidc_logins_handoff_hash")),
    )
    with op.batch_alter_table("oidc_logins") as batch:
        batch.create_index(batch.f("ix_oidc_logins_expires_at"), ["expires_at"], unique=False)
        batch.create_index(batch.f("ix_oidc_logins_user_id"), ["user_id"], unique=False)
        batch.create_index(batch.f("ix_oidc_logins_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_table("oidc_logins")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
