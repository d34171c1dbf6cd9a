"""complaint_clocks.warn_at: the one instant every reader turns a clock amber (issue 10, one clock).

Revision ID: t0008
Revises: t0007
Create Date: 2026-12-04 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0008"
down_revision = "t0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint_clocks") as batch:
        batch.add_column(sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint_clocks") as batch:
        batch.drop_column("warn_at")
