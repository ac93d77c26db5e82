"""Obligations of the company as a whole (no engagement, no vendor); the handler's last
compliance audit and whether it processes automotive data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligations") as table:
        table.alter_column("vendor_id", existing_type=sa.Uuid(), nullable=True)
        table.alter_column("engagement_id", existing_type=sa.Uuid(), nullable=True)
    with op.batch_alter_table("handler_profile") as table:
        table.add_column(sa.Column("last_compliance_audit_on", sa.Date(), nullable=True))
        table.add_column(
            sa.Column("automotive_data_processor", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("handler_profile") as table:
        table.drop_column("automotive_data_processor")
        table.drop_column("last_compliance_audit_on")
    op.execute("DELETE FROM reminders WHERE obligation_id IN (SELECT id FROM obligations WHERE engagement_id IS NULL)")
    op.execute("DELETE FROM obligations WHERE engagement_id IS NULL")
    with op.batch_alter_table("obligations") as table:
        table.alter_column("engagement_id", existing_type=sa.Uuid(), nullable=False)
        table.alter_column("vendor_id", existing_type=sa.Uuid(), nullable=False)
