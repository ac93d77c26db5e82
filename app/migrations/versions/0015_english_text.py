"""Free text an agreement prints takes an English value beside the Chinese one (issue 15, item 3).

The English text of a venue's description lives inside the engagements' venues JSON and needs
no column. Existing rows get "" (no English text yet): their next agreement says so.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {"engagements": ("purpose_en", "retention_note_en"), "sub_processors": ("activity_en",)}


def upgrade() -> None:
    for table, names in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in names:
                batch_op.add_column(sa.Column(name, sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    for table, names in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in names:
                batch_op.drop_column(name)
