"""R1: the complaint record keeps the conclusion of its department's reply (reply_conclusion).

A repeat complaint's reply is checked against it (tasks.validators.work_order_reply), so the
earlier conclusion must be readable without loading the earlier workflow.

Revision ID: t0005_proc
Revises: t0003
Create Date: 2026-11-28 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0005_proc"
down_revision = "t0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("reply_conclusion", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("reply_conclusion")
