"""Complaints submitted on the public website form (A5): receipt references and the rate limit.

Revision ID: w0004
Revises: w0003
Create Date: 2026-11-28 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "w0004"
down_revision = "w0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "website_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt", name="uq_website_submissions_receipt"),
    )
    op.create_index("ix_website_submissions_address_at", "website_submissions", ["address", "submitted_at"])
    op.create_index("ix_website_submissions_instance_id", "website_submissions", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_website_submissions_instance_id", table_name="website_submissions")
    op.drop_index("ix_website_submissions_address_at", table_name="website_submissions")
    op.drop_table("website_submissions")
