"""The engine's tables: versions, instances and the rows derived from them.

Derived rows (human tasks, next timer, firings) are written in the same
transaction as the instance state they come from, so lists never unpickle workflows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base

END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which has no zones) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give an explicit offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Deployment(Base):
    """An immutable, content-hashed version of the bundle (diagrams, forms, config)."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    main_process: Mapped[str] = mapped_column(String(200))
    bundle_zip: Mapped[bytes] = mapped_column(LargeBinary)
    specs_json: Mapped[str] = mapped_column(Text)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(200))


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    # Deferred: a command whose workflow is cached in memory never reads it back.
    state: Mapped[str] = mapped_column(Text, deferred=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(200))

    # A stale write (someone committed a newer version first) raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}


class HumanTask(Base):
    """A user task as people see it: who may take it, who has it, when it is due."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        # Each queue of the inbox (a group's unclaimed tasks, a person's claimed ones) in
        # inbox order: urgent first, then the earliest due (engine/inbox.py).
        Index(
            "ix_human_tasks_queue",
            "status",
            "candidate_group",
            "assignee",
            text("priority DESC"),
            "due_sort",
            "created_at",
        ),
        Index(
            "ix_human_tasks_claimed", "status", "assignee", text("priority DESC"), "due_sort", "created_at"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_group: Mapped[str | None] = mapped_column(String(200))
    form: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # due_at, or the end of time when the task has no deadline: it sorts last everywhere.
    due_sort: Mapped[datetime] = mapped_column(UTCDateTime)
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(200))


class TimerFiring(Base):
    """One timer that fired: lateness (fired minus due) is the scheduler's report card."""

    __tablename__ = "timer_firings"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(36))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lateness_s: Mapped[float] = mapped_column(Float)
    fired_by: Mapped[str] = mapped_column(String(200))


class AuditEvent(Base):
    """Append-only; each row carries the hash of the one before in its chain (see engine.audit).

    ``chain`` is 0 for the global chain, else the instance the chain belongs to; ``seq`` is
    the event's position in its chain, from 1 without gaps.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ux_audit_events_chain_seq", "chain", "seq", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    command: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the global chain's tip (``last_id`` is its last ``seq``); it serialises global appends.

    Only non-instance events and anchors take it, so it is written rarely.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """An instance chain's tip: only commands on that instance update it (no cluster-wide row)."""

    __tablename__ = "audit_chains"

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    tip: Mapped[str] = mapped_column(String(64))


class AuditAnchored(Base):
    """How far each instance chain was last anchored: which chains the next anchor must record."""

    __tablename__ = "audit_anchored"

    chain: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)


class DefaultVersion(Base):
    """One row (id 1): the version new instances start on, when an admin chose one.

    ``newest_version`` is the newest version deployed when the choice was made: deploying
    a newer version ends the choice (new content is meant to be used), so a rollback
    holds until the next deploy or the next choice. No row: the newest version.
    """

    __tablename__ = "default_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    newest_version: Mapped[int] = mapped_column(Integer)
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    chosen_by: Mapped[str] = mapped_column(String(200))


class InstanceMigration(Base):
    """One instance moved between versions, with what it takes to move it back.

    ``instance_version`` is the instance row's version right after the move: a revert
    is refused once the row moved on (a task completed or claimed, a timer fired).
    """

    __tablename__ = "instance_migrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    from_deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    to_deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    previous_state: Mapped[str] = mapped_column(Text, deferred=True)
    previous_next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    previous_tasks: Mapped[str] = mapped_column(Text, deferred=True)
    instance_version: Mapped[int] = mapped_column(Integer)
    migrated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    migrated_by: Mapped[str] = mapped_column(String(200))
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverted_by: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(Integer, index=True)


class MigrationRun(Base):
    """A batch migration (engine.migration_runs): its plan and progress, updated with each move.

    Each instance moves in its own transaction, which also advances ``last_instance_id`` and
    the counters: a run that crashed resumes after the last instance it dealt with.
    """

    __tablename__ = "migration_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    to_deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    mapping_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # running | done
    total: Mapped[int] = mapped_column(Integer)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    last_instance_id: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(200))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverted_by: Mapped[str | None] = mapped_column(String(200))


class Draft(Base):
    """A bundle being edited (engine.drafts): kept whole, valid or not, until it is deployed."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    base_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="editing", index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    bundle_zip: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    problems_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    deployed_version: Mapped[int | None] = mapped_column(Integer)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str | None] = mapped_column(String(200))
