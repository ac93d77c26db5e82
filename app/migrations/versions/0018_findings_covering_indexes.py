"""Covering indexes for ranking findings (the findings list, the dashboard): the narrower
(status, severity) index is their prefix, so it goes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 14:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_findings_worst_first", "findings", ["status", "severity", "rule_id", "raised_at", "id"])
    op.create_index("ix_findings_open_by_vendor", "findings", ["status", "vendor_id", "severity"])
    op.drop_index("ix_findings_status_severity", table_name="findings")


def downgrade() -> None:
    op.create_index("ix_findings_status_severity", "findings", ["status", "severity"])
    op.drop_index("ix_findings_open_by_vendor", table_name="findings")
    op.drop_index("ix_findings_worst_first", table_name="findings")
