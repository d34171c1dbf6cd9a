"""Default version choice and instance migrations (with what a revert needs).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "default_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("newest_version", sa.Integer(), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chosen_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "instance_migrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("from_deployment_id", sa.Integer(), nullable=False),
        sa.Column("to_deployment_id", sa.Integer(), nullable=False),
        sa.Column("previous_state", sa.Text(), nullable=False),
        sa.Column("previous_next_timer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_tasks", sa.Text(), nullable=False),
        sa.Column("instance_version", sa.Integer(), nullable=False),
        sa.Column("migrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("migrated_by", sa.String(length=200), nullable=False),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.ForeignKeyConstraint(["from_deployment_id"], ["deployments.id"]),
        sa.ForeignKeyConstraint(["to_deployment_id"], ["deployments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instance_migrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instance_migrations_instance_id"), ["instance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instance_migrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_migrations_instance_id"))
    op.drop_table("instance_migrations")
    op.drop_table("default_version")
