"""Vendor contacts for the portal: people, their single-use links and their sessions (hashes only).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_contacts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("vendor_id", sa.Uuid(), sa.ForeignKey("vendors.id"), nullable=False, index=True),
        sa.Column("email", sa.String(length=320), nullable=False, unique=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invited_by_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "vendor_contact_links",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "contact_id", sa.Uuid(), sa.ForeignKey("vendor_contacts.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "vendor_contact_sessions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "contact_id", sa.Uuid(), sa.ForeignKey("vendor_contacts.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("vendor_contact_sessions")
    op.drop_table("vendor_contact_links")
    op.drop_table("vendor_contacts")
