"""Audit chains per instance, anchored in the global chain (issue 16).

Existing events all belong to the global chain (``chain`` 0) at the position they had
(``seq`` = ``id``), so they verify as before. ``audit_chains`` holds each instance
chain's tip; ``audit_anchored`` what the last anchor recorded of each.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    op.execute("UPDATE audit_events SET seq = id")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ux_audit_events_chain_seq", ["chain", "seq"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        # Ids were given by the single chain's head so far; from now on the table's sequence gives them.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
            "(SELECT COALESCE(MAX(id), 0) + 1 FROM audit_events), false)"
        )
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("tip", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.create_table(
        "audit_anchored",
        sa.Column("chain", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )


def downgrade() -> None:
    op.drop_table("audit_anchored")
    op.drop_table("audit_chains")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ux_audit_events_chain_seq")
        batch_op.drop_column("seq")
        batch_op.drop_column("chain")
