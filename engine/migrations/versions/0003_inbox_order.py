"""Inbox order: a never-null due instant to sort by, and an index that serves each queue in order.

Tasks without a deadline sort after every dated task (their ``due_sort`` is the end
of time), the same on SQLite and PostgreSQL, and each candidate group's unclaimed
tasks can be read straight off the index in inbox order (engine/inbox.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

END_OF_TIME = "9999-12-31 00:00:00"


def upgrade() -> None:
    op.drop_index("ix_human_tasks_inbox", table_name="human_tasks")
    op.drop_index("ix_human_tasks_assignee", table_name="human_tasks")
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("due_sort", sa.DateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE human_tasks SET due_sort = COALESCE(due_at, '{END_OF_TIME}')")
    with op.batch_alter_table("human_tasks") as batch:
        batch.alter_column("due_sort", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index(
        "ix_human_tasks_queue",
        "human_tasks",
        ["status", "candidate_group", "assignee", sa.text("priority DESC"), "due_sort", "created_at"],
    )
    op.create_index(
        "ix_human_tasks_claimed",
        "human_tasks",
        ["status", "assignee", sa.text("priority DESC"), "due_sort", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_human_tasks_claimed", table_name="human_tasks")
    op.drop_index("ix_human_tasks_queue", table_name="human_tasks")
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_column("due_sort")
    op.create_index("ix_human_tasks_assignee", "human_tasks", ["status", "assignee"])
    op.create_index(
        "ix_human_tasks_inbox", "human_tasks", ["status", "candidate_group", "priority", "due_at"]
    )
