"""progress_lookups: the public progress page's lookups, counted per address (issue 13).

Revision ID: w0007_casefile
Revises: w0006
Create Date: 2026-12-04 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "w0007_casefile"
down_revision = "w0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress_lookups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_progress_lookups_address_at", "progress_lookups", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_progress_lookups_address_at", table_name="progress_lookups")
    op.drop_table("progress_lookups")
