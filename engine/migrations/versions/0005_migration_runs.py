"""Migration runs: a batch moving instances in the background, with its progress and plan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migration_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_deployment_id", sa.Integer(), nullable=False),
        sa.Column("to_deployment_id", sa.Integer(), nullable=False),
        sa.Column("mapping_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("blocked", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("last_instance_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["from_deployment_id"], ["deployments.id"]),
        sa.ForeignKeyConstraint(["to_deployment_id"], ["deployments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instance_migrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_instance_migrations_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("instance_migrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instance_migrations_run_id"))
        batch_op.drop_column("run_id")
    op.drop_table("migration_runs")
