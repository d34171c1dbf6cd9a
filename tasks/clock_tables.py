"""The clock tables (L7): one row per complaint clock and round, and the rollups the reports
read with their delta tables. What fills them, and why the deltas exist: ``tasks.clocks``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, UniqueConstraint, select, union_all
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import UTCDateTime

RUNNING, MET, MISSED = "running", "met", "missed"

UNMEASURED = "unmeasured"  # the complaint closed before the clock was stopped (e.g. no L6 needed)

# The report dimensions a clock or a complaint is counted under ("all": the total).
DIMENSIONS = ("all", "department", "channel", "business_category", "nature_category", "type_flag")
VOLUME_DIMENSIONS = ("all", "channel", "business_category", "nature_category", "type_flag")


class ComplaintClock(Base):
    """One deadline clock of one complaint (and V1 round): started, due, stopped, outcome."""

    __tablename__ = "complaint_clocks"
    __table_args__ = (
        UniqueConstraint("instance_id", "clock", "round", name="uq_complaint_clocks_key"),
        # The list of running clocks (overdue or about to be) reads only running rows by due.
        Index("ix_complaint_clocks_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    clock: Mapped[str] = mapped_column(String(20))
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """L7: past it the clock is about to breach (amber); every reader takes it from here."""
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late_by_s: Mapped[float | None] = mapped_column(Float)
    period: Mapped[str] = mapped_column(String(10))
    department: Mapped[str] = mapped_column(String(60), default="")
    channel: Mapped[str] = mapped_column(String(40), default="")
    business_category: Mapped[str] = mapped_column(String(60), default="")
    nature_category: Mapped[str] = mapped_column(String(60), default="")
    type_flags: Mapped[str] = mapped_column(String(200), default="")


class ClockRollup(Base):
    """Measured clocks per acceptance day, clock, dimension and value (the on-time report)."""

    __tablename__ = "clock_rollups"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    clock: Mapped[str] = mapped_column(String(20), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[str] = mapped_column(String(60), primary_key=True)
    measured: Mapped[int] = mapped_column(Integer, default=0)
    met: Mapped[int] = mapped_column(Integer, default=0)
    late_s: Mapped[float] = mapped_column(Float, default=0.0)
    extended: Mapped[int] = mapped_column(Integer, default=0)


class ComplaintVolume(Base):
    """C4: numbered complaints per acceptance day, dimension and value (Annex 1)."""

    __tablename__ = "complaint_volumes"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[str] = mapped_column(String(60), primary_key=True)
    complaints: Mapped[int] = mapped_column(Integer, default=0)


class ElementRollup(Base):
    """Heat map: tasks of closed complaints per acceptance day and diagram element."""

    __tablename__ = "element_rollups"

    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    tasks: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    late: Mapped[int] = mapped_column(Integer, default=0)


class ClockRollupDelta(Base):
    """Differences to ``clock_rollups`` appended by commands, until folded (PostgreSQL)."""

    __tablename__ = "clock_rollup_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10))
    clock: Mapped[str] = mapped_column(String(20))
    dimension: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(60))
    measured: Mapped[int] = mapped_column(Integer, default=0)
    met: Mapped[int] = mapped_column(Integer, default=0)
    late_s: Mapped[float] = mapped_column(Float, default=0.0)
    extended: Mapped[int] = mapped_column(Integer, default=0)


class ComplaintVolumeDelta(Base):
    """Differences to ``complaint_volumes`` appended by commands, until folded (PostgreSQL)."""

    __tablename__ = "complaint_volume_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10))
    dimension: Mapped[str] = mapped_column(String(30))
    value: Mapped[str] = mapped_column(String(60))
    complaints: Mapped[int] = mapped_column(Integer, default=0)


class ElementRollupDelta(Base):
    """Differences to ``element_rollups`` appended by commands, until folded (PostgreSQL)."""

    __tablename__ = "element_rollup_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10))
    element_id: Mapped[str] = mapped_column(String(200))
    tasks: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    late: Mapped[int] = mapped_column(Integer, default=0)


DELTAS: dict[type[Base], type[Base]] = {
    ClockRollup: ClockRollupDelta,
    ComplaintVolume: ComplaintVolumeDelta,
    ElementRollup: ElementRollupDelta,
}
ROLLUP_KEYS: dict[type[Base], tuple[str, ...]] = {
    ClockRollup: ("period", "clock", "dimension", "value"),
    ComplaintVolume: ("period", "dimension", "value"),
    ElementRollup: ("period", "element_id"),
}


def with_deltas(table: type[Base]) -> Any:
    """The rollup as reports must read it: its rows and the deltas not folded yet, as one subquery.

    One statement, so one snapshot: a fold committing meanwhile is seen whole or not at all.
    """
    columns = [column.key for column in table.__table__.c]
    delta = DELTAS[table].__table__
    return union_all(
        select(*(table.__table__.c[name] for name in columns)),
        select(*(delta.c[name] for name in columns)),
    ).subquery()
