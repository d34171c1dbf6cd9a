"""Warnings before a breach and in-app notifications (L7 warnings; web/notifications.py).

Revision ID: w0005
Revises: w0004
Create Date: 2026-11-28 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "w0005"
down_revision = "w0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breach_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "clock", "due_at", name="uq_breach_warnings_key"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("business_key", sa.String(length=200), nullable=True),
        sa.Column("clock", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_status", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["warning_id"], ["breach_warnings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_username", "notifications", ["username"])
    op.create_table(
        "notification_addresses",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("notification_addresses")
    op.drop_index("ix_notifications_username", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("breach_warnings")
