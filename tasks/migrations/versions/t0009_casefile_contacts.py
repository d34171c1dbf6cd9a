"""complaint_contacts: the customer and department of each instance, numbered or not (issue 13:
the inbox finds a website complaint awaiting verification by phone; search filters by department).

Revision ID: t0009_casefile
Revises: t0008
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "t0009_casefile"
down_revision = "t0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_contacts",
        sa.Column("instance_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("customer_name", sa.String(100), nullable=True),
        sa.Column("customer_phone", sa.String(40), nullable=True),
        sa.Column("customer_account", sa.String(60), nullable=True),
        sa.Column("channel", sa.String(40), nullable=True),
        sa.Column("department", sa.String(60), nullable=True),
        sa.Column("numbered", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_complaint_contacts_customer_phone", "complaint_contacts", ["customer_phone"])
    op.create_index("ix_complaint_contacts_department", "complaint_contacts", ["department"])


def downgrade() -> None:
    op.drop_index("ix_complaint_contacts_department", table_name="complaint_contacts")
    op.drop_index("ix_complaint_contacts_customer_phone", table_name="complaint_contacts")
    op.drop_table("complaint_contacts")
