"""Hand-built clock history for the what-if tests: complaint rows and their clock rows, as recorded.

Each clock is given by its start, the span the deployed version allowed (its first due), the
E3 extension on top and the instant it stopped; the outcome is worked out here exactly as
``tasks.deadlines.deadline_outcome`` does (met when stopped <= due), so the tests state their
expectations by hand, clock by clock.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta

from tasks.clocks import MET, MISSED, RUNNING, ComplaintClock
from tasks.records import Complaint
from tests.procedure.support import BUNDLE, at

CONFIG_TEXT = (BUNDLE / "procedure.toml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Clock:
    """A recorded clock: started, first due (as the deployed version set it), stopped or running."""

    clock: str
    started: datetime
    first_due: datetime
    stopped: datetime | None = None
    extended_by: timedelta = timedelta(0)
    round: int = 1


def took(clock: str, started: datetime, allowed: timedelta, duration: timedelta | None, **more) -> Clock:
    """Plain elapsed time: ``allowed`` from its start, stopped ``duration`` later (None: running)."""
    stopped = None if duration is None else started + duration
    return Clock(clock, started, started + allowed, stopped, **more)


def complaint(
    connection,
    instance_id: int,
    clocks: list[Clock],
    *,
    closed_at: datetime | None = None,
    priority: str = "ordinary",
    flags: str = "ordinary",
    outside_due: datetime | None = None,
) -> None:
    """One complaint (closed when ``closed_at`` is given, else open) with its clock rows."""
    accepted = min(item.started for item in clocks)
    connection.execute(
        Complaint.__table__.insert().values(
            instance_id=instance_id,
            number=f"TS-20261101-{instance_id:04d}",
            type_flags=flags,
            priority=priority,
            stage="closed" if closed_at else "handling",
            status="closed" if closed_at else "open",
            accepted_at=accepted,
            closed_at=closed_at,
            outside_due=outside_due,
            deadlines="{}",
            reminders=0,
            updated_at=accepted,
        )
    )
    for item in clocks:
        first_due = item.first_due
        due = first_due + item.extended_by
        if item.stopped is None:
            status, late = RUNNING, None
        else:
            late = max((item.stopped - due).total_seconds(), 0.0)
            status = MET if item.stopped <= due else MISSED
        connection.execute(
            ComplaintClock.__table__.insert().values(
                instance_id=instance_id,
                clock=item.clock,
                round=item.round,
                status=status,
                started_at=item.started,
                due_at=due,
                first_due_at=first_due,
                extensions=1 if item.extended_by else 0,
                stopped_at=item.stopped,
                late_by_s=late,
                period=accepted.date().isoformat(),
            )
        )


def config_with(*replacements: tuple[str, str]) -> dict:
    """procedure.toml of bpmn/ with each ``(old, new)`` text replaced once, parsed."""
    return tomllib.loads(text_with(*replacements))


def text_with(*replacements: tuple[str, str]) -> str:
    text = CONFIG_TEXT
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


L2_THREE_HOURS = ('[dispatch_deadlines]\nordinary = "PT2H"', '[dispatch_deadlines]\nordinary = "PT3H"')
H = timedelta(hours=1)
M = timedelta(minutes=1)


def dispatch_history(connection) -> None:
    """Four ordinary dispatches that took 2h10, 1h50, 3h20 and 0h30 (L2 2 h), closed this week.

    Actual: 2 of 4 on time; with L2 at 3 h: 3 of 4. One closed 40 days ago (on time in 3 h,
    not in 2 h) only counts when the window reaches it.
    """
    for number, duration in enumerate((2 * H + 10 * M, 1 * H + 50 * M, 3 * H + 20 * M, 30 * M), start=1):
        started = at(20 + number, 9)
        complaint(
            connection,
            100 + number,
            [took("L2", started, 2 * H, duration)],
            closed_at=started + timedelta(days=1),
        )
    long_ago = at(27, 9) - timedelta(days=40)
    complaint(connection, 199, [took("L2", long_ago, 2 * H, 2 * H + 30 * M)], closed_at=long_ago + H)
