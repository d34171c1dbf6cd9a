"""Delta tables of the report rollups: commands append, one at a time folds (tasks/clocks.py, issue 16).

Revision ID: t0007
Revises: t0006_proc2
Create Date: 2026-12-05 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0007"
down_revision = "t0006_proc2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clock_rollup_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("clock", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=30), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.Column("measured", sa.Integer(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("late_s", sa.Float(), nullable=False),
        sa.Column("extended", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "complaint_volume_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("dimension", sa.String(length=30), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "element_rollup_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("element_rollup_deltas")
    op.drop_table("complaint_volume_deltas")
    op.drop_table("clock_rollup_deltas")
