"""documents current version foreign key on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:00:00.000000

The initial schema declared ``documents.current_version_id → document_versions.id`` with
``use_alter`` (the two tables refer to each other). SQLite wrote it into the table; on PostgreSQL
Alembic's ``create_table`` left it out and never added it. This adds it there.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NAME = "fk_documents_current_version_id_document_versions"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(
        "UPDATE documents SET current_version_id = NULL WHERE current_version_id IS NOT NULL "
        "AND current_version_id NOT IN (SELECT id FROM document_versions)"
    )
    op.create_foreign_key(
        NAME, "documents", "document_versions", ["current_version_id"], ["id"], ondelete="SET NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.drop_constraint(NAME, "documents", type_="foreignkey")
