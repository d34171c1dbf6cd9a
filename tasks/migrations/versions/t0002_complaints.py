"""The complaint record (complaints) and its per-day number counter (complaint_numbers).

Revision ID: t0002
Revises: t0001
Create Date: 2026-11-28 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0002"
down_revision = "t0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("customer_name", sa.String(length=100), nullable=True),
        sa.Column("customer_phone", sa.String(length=40), nullable=True),
        sa.Column("customer_account", sa.String(length=60), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=True),
        sa.Column("business_category", sa.String(length=60), nullable=True),
        sa.Column("nature_category", sa.String(length=60), nullable=True),
        sa.Column("type_flags", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("repeat_of", sa.String(length=40), nullable=True),
        sa.Column("batch_tag", sa.String(length=60), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("deadlines", sa.Text(), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id"),
        sa.UniqueConstraint("number"),
    )
    for column in ("customer_phone", "customer_account", "status", "repeat_of", "batch_tag"):
        op.create_index(f"ix_complaints_{column}", "complaints", [column])
    op.create_table(
        "complaint_numbers",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("complaint_numbers")
    for column in ("customer_phone", "customer_account", "status", "repeat_of", "batch_tag"):
        op.drop_index(f"ix_complaints_{column}", table_name="complaints")
    op.drop_table("complaints")
