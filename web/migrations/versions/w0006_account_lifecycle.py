"""Account lifecycle: session generations, demo flag, token expiry, last use and revocation.

Revision ID: w0006
Revises: w0005
Create Date: 2026-12-03 20:00:00
"""

import sqlalchemy as sa
from alembic import op
from werkzeug.security import check_password_hash

revision = "w0006"
down_revision = "w0005"
branch_labels = None
depends_on = None

DEMO_USERNAMES = (
    "intake",
    "dispatcher",
    "network",
    "billing",
    "specialist",
    "legal",
    "supervisor",
    "escalation",
    "owner",
    "admin",
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("is_demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    # Demo accounts created before this revision: flag those that still have the demo
    # password, so production refuses them until it is changed.
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("is_demo", sa.Boolean),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.password_hash).where(users.c.username.in_(DEMO_USERNAMES))
    ).all()
    for user_id, password_hash in rows:
        if check_password_hash(password_hash, "demo"):
            connection.execute(users.update().where(users.c.id == user_id).values(is_demo=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_demo")
        batch.drop_column("session_generation")
