"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28 21:45:42.094167
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "handler_profile",
        sa.Column("legal_name_zh", sa.String(), nullable=False),
        sa.Column("legal_name_en", sa.String(), nullable=False),
        sa.Column("unified_social_credit_code", sa.String(length=18), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("pi_protection_officer_name", sa.String(), nullable=False),
        sa.Column("pi_protection_officer_email", sa.String(length=320), nullable=True),
        sa.Column("is_ciio", sa.Boolean(), nullable=False),
        sa.Column("individuals_total", sa.BigInteger(), nullable=False),
        sa.Column("individuals_total_as_of", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "vendors",
        sa.Column("legal_name_zh", sa.String(), nullable=False),
        sa.Column("legal_name_en", sa.String(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("registration_number", sa.String(length=100), nullable=True),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("website", sa.String(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("unified_social_credit_code", sa.String(length=18), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("country", "registration_number"),
        sa.UniqueConstraint("unified_social_credit_code"),
    )
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vendors_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "engagements",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("processing_methods", sa.JSON(), nullable=False),
        sa.Column("pi_categories", sa.JSON(), nullable=False),
        sa.Column("data_subjects", sa.JSON(), nullable=False),
        sa.Column("individuals_count", sa.BigInteger(), nullable=True),
        sa.Column("individuals_count_as_of", sa.Date(), nullable=True),
        sa.Column("venues", sa.JSON(), nullable=False),
        sa.Column("storage_locations", sa.JSON(), nullable=False),
        sa.Column("leaves_china", sa.Boolean(), nullable=False),
        sa.Column("cross_border_recipients", sa.JSON(), nullable=False),
        sa.Column("cross_border_mechanism", sa.String(length=30), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("retention_note", sa.String(), nullable=False),
        sa.Column("legal_basis", sa.String(length=30), nullable=False),
        sa.Column("consent_obtained", sa.Boolean(), nullable=False),
        sa.Column("consent_evidence", sa.String(), nullable=False),
        sa.Column("separate_consent_obtained", sa.Boolean(), nullable=False),
        sa.Column("separate_consent_evidence", sa.String(), nullable=False),
        sa.Column("guardian_consent_obtained", sa.Boolean(), nullable=False),
        sa.Column("guardian_consent_evidence", sa.String(), nullable=False),
        sa.Column("pipia_reference", sa.String(), nullable=False),
        sa.Column("pipia_date", sa.Date(), nullable=True),
        sa.Column("pipia_retained_until", sa.Date(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("processes_sensitive_pi", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagements_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_engagements_processes_sensitive_pi"),
            ["processes_sensitive_pi"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_engagements_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "sub_processors",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("activity", sa.String(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("handler_consented", sa.Boolean(), nullable=False),
        sa.Column("consented_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["engagement_id"], ["engagements.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sub_processors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sub_processors_engagement_id"), ["engagement_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sub_processors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_processors_engagement_id"))

    op.drop_table("sub_processors")
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagements_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_engagements_processes_sensitive_pi"))
        batch_op.drop_index(batch_op.f("ix_engagements_owner_id"))

    op.drop_table("engagements")
    with op.batch_alter_table("vendors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vendors_owner_id"))

    op.drop_table("vendors")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("handler_profile")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_object")

    op.drop_table("audit_entries")
