"""complaint_contacts.description_excerpt: the intake lookup (T2/T3) lists complaints with an
excerpt of their description without loading a workflow per row (issue 15).

Rows projected before this revision get their excerpt at the instance's next command; until
then the lookup shows none for them.

Revision ID: t0010_seams
Revises: t0009_casefile
Create Date: 2026-12-04 19:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0010_seams"
down_revision = "t0009_casefile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("complaint_contacts", sa.Column("description_excerpt", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint_contacts") as table:
        table.drop_column("description_excerpt")
