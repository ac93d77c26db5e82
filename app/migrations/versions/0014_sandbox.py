"""Sandbox: test vendor keys (dpv_test_...) and the attestations sent with them, marked as tests.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every key and attestation so far is real: the server default says so for existing rows.
    with op.batch_alter_table("vendor_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_column("test")
    with op.batch_alter_table("vendor_keys", schema=None) as batch_op:
        batch_op.drop_column("test")
