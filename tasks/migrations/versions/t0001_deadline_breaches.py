"""Complaint-domain tables: deadline breaches (L7).

The domain's own Alembic branch ("tasks"), after the engine's first revision.

Revision ID: t0001
Revises:
Create Date: 2026-11-27 23:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = None
branch_labels = ("tasks",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "deadline_breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late_by_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deadline_breaches_instance_id", "deadline_breaches", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_deadline_breaches_instance_id", table_name="deadline_breaches")
    op.drop_table("deadline_breaches")
