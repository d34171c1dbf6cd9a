"""C5 (issue 11 item 8): 越级 and 升级 become two type flags; T4 (item 9): the batch's handler on the record.

The old flag ``escalated`` was labelled "升级/越级". The old intake forced it on every complaint
transferred on an escalation channel (MIIT, group company, communications administration,
consumer association, media), and those complaints ran the transfer path (T5-T7): there it
meant 升级, which ``escalated`` keeps meaning. On any other channel nobody transferred the
complaint: the agent flagged a customer who had gone over the company's head, i.e. 越级, now
the flag ``over_head``. This revision renames the flag on such records (``complaints`` and
``complaint_clocks``) and moves their counts in the report rollups (as deltas, which the next
fold merges). The running instances' own data is left alone: their path was chosen already.

``complaints.batch_handler``: the branch complaint handler following the whole batch (T4).
Earlier batch complaints get none: the old field named the assignee of one work order, not
the person following the batch.

Revision ID: t0011_visit11
Revises: t0010_seams
Create Date: 2026-12-04 19:30:00
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "t0011_visit11"
down_revision = "t0010_seams"
branch_labels = None
depends_on = None

# The escalation channels of procedure.toml when the flags were split (C1, ``escalation = true``).
ESCALATION_CHANNELS = (
    "miit",
    "group_company",
    "comms_administration",
    "consumer_association",
    "media",
    "central_media",
)
BRANCH_ZONE = ZoneInfo("Asia/Shanghai")  # the branch's zone then: acceptance days are counted in it
OLD, NEW = "escalated", "over_head"

complaints = sa.table(
    "complaints",
    sa.column("instance_id", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("type_flags", sa.String),
    sa.column("accepted_at", sa.DateTime),
)
clock_rows = sa.table(
    "complaint_clocks",
    sa.column("instance_id", sa.Integer),
    sa.column("clock", sa.String),
    sa.column("status", sa.String),
    sa.column("period", sa.String),
    sa.column("type_flags", sa.String),
    sa.column("late_by_s", sa.Float),
    sa.column("extensions", sa.Integer),
)
volume_deltas = sa.table(
    "complaint_volume_deltas",
    sa.column("period", sa.String),
    sa.column("dimension", sa.String),
    sa.column("value", sa.String),
    sa.column("complaints", sa.Integer),
)
clock_deltas = sa.table(
    "clock_rollup_deltas",
    sa.column("period", sa.String),
    sa.column("clock", sa.String),
    sa.column("dimension", sa.String),
    sa.column("value", sa.String),
    sa.column("measured", sa.Integer),
    sa.column("met", sa.Integer),
    sa.column("late_s", sa.Float),
    sa.column("extended", sa.Integer),
)


def _renamed(flags: str, old: str, new: str) -> str:
    return ",".join(new if flag == old else flag for flag in (flags or "").split(",") if flag)


def _day(accepted_at) -> str | None:
    if accepted_at is None:
        return None
    if isinstance(accepted_at, str):
        accepted_at = datetime.fromisoformat(accepted_at)
    if accepted_at.tzinfo is None:
        accepted_at = accepted_at.replace(tzinfo=UTC)
    return accepted_at.astimezone(BRANCH_ZONE).date().isoformat()


def _move_flag(old: str, new: str, where) -> None:
    """Rename ``old`` to ``new`` on the records ``where`` selects, their clocks and the rollups."""
    bind = op.get_bind()
    found = bind.execute(
        sa.select(complaints.c.instance_id, complaints.c.type_flags, complaints.c.accepted_at).where(where)
    ).all()
    for instance_id, flags, accepted_at in found:
        if old not in (flags or "").split(","):
            continue
        bind.execute(
            complaints.update()
            .where(complaints.c.instance_id == instance_id)
            .values(type_flags=_renamed(flags, old, new))
        )
        rows = bind.execute(sa.select(clock_rows).where(clock_rows.c.instance_id == instance_id)).all()
        bind.execute(
            clock_rows.update()
            .where(clock_rows.c.instance_id == instance_id)
            .values(type_flags=_renamed(flags, old, new))
        )
        period = rows[0].period if rows else _day(accepted_at)
        if period is not None:
            bind.execute(
                volume_deltas.insert(),
                [
                    {"period": period, "dimension": "type_flag", "value": old, "complaints": -1},
                    {"period": period, "dimension": "type_flag", "value": new, "complaints": 1},
                ],
            )
        for row in rows:
            if row.status not in ("met", "missed"):
                continue
            counts = {
                "measured": 1,
                "met": 1 if row.status == "met" else 0,
                "late_s": float(row.late_by_s or 0.0),
                "extended": 1 if (row.extensions or 0) > 0 else 0,
            }
            base = {"period": row.period, "clock": row.clock, "dimension": "type_flag"}
            bind.execute(
                clock_deltas.insert(),
                [
                    {**base, "value": old, **{key: -amount for key, amount in counts.items()}},
                    {**base, "value": new, **counts},
                ],
            )


def upgrade() -> None:
    op.add_column("complaints", sa.Column("batch_handler", sa.String(200), nullable=True))
    op.create_index("ix_complaints_batch_handler", "complaints", ["batch_handler"])
    _move_flag(
        OLD, NEW, sa.or_(complaints.c.channel.is_(None), complaints.c.channel.notin_(ESCALATION_CHANNELS))
    )


def downgrade() -> None:
    _move_flag(NEW, OLD, sa.true())
    op.drop_index("ix_complaints_batch_handler", table_name="complaints")
    op.drop_column("complaints", "batch_handler")
