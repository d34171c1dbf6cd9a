"""Named clocks per complaint and the report rollups (L7, C4; tasks/clocks.py).

Revision ID: t0003
Revises: t0002
Create Date: 2026-11-28 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0003"
down_revision = "t0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=20), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late_by_s", sa.Float(), nullable=True),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("business_category", sa.String(length=60), nullable=False),
        sa.Column("nature_category", sa.String(length=60), nullable=False),
        sa.Column("type_flags", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "clock", "round", name="uq_complaint_clocks_key"),
    )
    op.create_index("ix_complaint_clocks_status_due", "complaint_clocks", ["status", "due_at"])
    op.create_table(
        "clock_rollups",
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("clock", sa.String(length=20), nullable=False),
        sa.Column("dimension", sa.String(length=30), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.Column("measured", sa.Integer(), nullable=False),
        sa.Column("met", sa.Integer(), nullable=False),
        sa.Column("late_s", sa.Float(), nullable=False),
        sa.Column("extended", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period", "clock", "dimension", "value"),
    )
    op.create_table(
        "complaint_volumes",
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("dimension", sa.String(length=30), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.Column("complaints", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period", "dimension", "value"),
    )
    op.create_table(
        "element_rollups",
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("period", "element_id"),
    )


def downgrade() -> None:
    op.drop_table("element_rollups")
    op.drop_table("complaint_volumes")
    op.drop_table("clock_rollups")
    op.drop_index("ix_complaint_clocks_status_due", table_name="complaint_clocks")
    op.drop_table("complaint_clocks")
