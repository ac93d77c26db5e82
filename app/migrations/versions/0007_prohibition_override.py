"""Agreements record the DPO's override of a prohibition (R8b) that would block issuing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agreements") as table:
        table.add_column(sa.Column("override_reason", sa.String(length=2000), nullable=False, server_default=""))
        table.add_column(sa.Column("override_by", sa.String(length=320), nullable=False, server_default=""))
        table.add_column(sa.Column("override_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agreements") as table:
        table.drop_column("override_at")
        table.drop_column("override_by")
        table.drop_column("override_reason")
