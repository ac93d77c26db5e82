"""Due-diligence questionnaires sent to vendors, their answers and evidence files.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "questionnaires",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vendor_id", sa.Uuid(), nullable=False),
        sa.Column("engagement_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_by_id", sa.Uuid(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Uuid(), nullable=True),
        sa.Column("review_reason", sa.String(length=4000), nullable=False),
        sa.ForeignKeyConstraint(["engagement_id"], ["engagements.id"]),
        sa.ForeignKeyConstraint(["reviewed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["sent_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["vendor_id"], ["vendors.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questionnaires_engagement_id"), ["engagement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaires_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaires_vendor_id"), ["vendor_id"], unique=False)
    op.create_table(
        "questionnaire_files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("questionnaire_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.String(length=60), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["questionnaire_id"], ["questionnaires.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("questionnaire_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questionnaire_files_questionnaire_id"), ["questionnaire_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaire_files_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("questionnaire_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_files_sha256"))
        batch_op.drop_index(batch_op.f("ix_questionnaire_files_questionnaire_id"))
    op.drop_table("questionnaire_files")
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaires_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_questionnaires_status"))
        batch_op.drop_index(batch_op.f("ix_questionnaires_engagement_id"))
    op.drop_table("questionnaires")
