"""Regulator-ordered compliance audits (PIPL art. 64) and the facts a cross-border standard
contract was filed with, so that a change of them calls for re-filing; whether the company's
PI sent abroad includes important data.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_orders",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("ordered_on", sa.Date(), nullable=False),
        sa.Column("authority", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=4000), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=True),
        sa.Column("report_filename", sa.String(length=255), nullable=False),
        sa.Column("report_content_type", sa.String(length=100), nullable=False),
        sa.Column("report_size", sa.Integer(), nullable=True),
        sa.Column("report_uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("obligations") as table:
        table.add_column(sa.Column("facts", sa.JSON(), nullable=True))
    with op.batch_alter_table("handler_profile") as table:
        table.add_column(sa.Column("holds_important_data", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("handler_profile") as table:
        table.drop_column("holds_important_data")
    with op.batch_alter_table("obligations") as table:
        table.drop_column("facts")
    op.drop_table("audit_orders")
