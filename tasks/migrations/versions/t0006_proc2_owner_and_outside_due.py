"""A1, T6: the complaint record keeps its first-contact owner and an escalated complaint's
outside deadline, so "my complaints" and the escalation desk's list need no workflow loaded.

Revision ID: t0006_proc2
Revises: t0005_proc
Create Date: 2026-11-28 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0006_proc2"
down_revision = "t0005_proc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("first_contact_owner", sa.String(200), nullable=True))
    op.add_column("complaints", sa.Column("outside_due", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_complaints_first_contact_owner", "complaints", ["first_contact_owner"])


def downgrade() -> None:
    op.drop_index("ix_complaints_first_contact_owner", table_name="complaints")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("outside_due")
        batch.drop_column("first_contact_owner")
