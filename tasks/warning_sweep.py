"""Which clock is about to breach: warnings before a deadline passes (L1, L2, L4, R4, L6, T7; L7).

A clock runs from a start to a due instant; it is *about to breach* once the configured
fraction of that span has passed (``[warnings]`` in procedure.toml, default 0.75, one
override per clock), until the due instant or until the clock stops. The fraction comes
from the version the complaint runs on, like every other figure of the procedure.

Where the clocks come from: the one running-clocks model, ``complaint_clocks`` (written in
each command's transaction by ``tasks.clocks.project_clocks`` from the diagram's clock timers,
``engine.running_clocks``), whose ``warn_at`` the inbox colour, the complaint page and the
at-risk report read too, so they all agree. No workflow is loaded and no element id or span
is named here: who is warned is the open task the clock's timer guards (the catalogue,
``engine.clock_catalogue``); for a clock no task guards (L1, an event subprocess's start
timer) the first-contact owner (A1); for a clock the diagram has no timer for yet (L6, from
the carried ``contact_due``) whoever has the complaint's newest open task.

* **E5**: a returned reply re-opens the handling task on the carried due: the same row, its
  start kept (the span does not shrink to the rework), running again.
* **E3**: an extension moves the due of the same row (start and first due kept, extensions
  counted): the warning instant moves to the share of start -> new due, under a new key.
* **V1**: a second dispatch is a new round (a new row) started at the second dispatch.

A clock stops when the procedure measures it (its task handed in) or, for L1, when the
first reply is recorded; a stopped clock is never warned about. The key of a warning is
``(instance, clock, due)``: whoever sends it stores that key uniquely, so it goes out
once however many nodes sweep (web/notifications.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.models import HumanTask, Instance
from tasks import records
from tasks.clocks import RUNNING, ComplaintClock
from tasks.warning_share import CONFIG_TABLE, fraction

# Names a [warnings] override may use: a clock id (the rule id on a timer's `clock` property),
# also of a clock a later version adds.
_CLOCK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")


@dataclass(frozen=True)
class RunningClock:
    """A clock that still runs, with the instant its warning falls due."""

    instance_id: int
    business_key: str | None
    clock: str
    start: datetime
    due_at: datetime
    warn_at: datetime
    fraction: float
    task_id: str | None  # the guarding task (None for L1)
    assignee: str | None  # who has the task (L1: who recorded the complaint)
    candidate_group: str | None  # whose task it is while nobody has claimed it

    @property
    def key(self) -> tuple[int, str, datetime]:
        return (self.instance_id, self.clock, self.due_at)


# ----------------------------------------------------------------------------- configuration


def config_problems(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Deploy-time check of ``[warnings]``: ``(key path, message)`` for every bad entry."""
    table = config.get(CONFIG_TABLE)
    if table is None:
        return []
    if not isinstance(table, Mapping):
        return [(CONFIG_TABLE, "must be a table: [warnings] default = 0.75, L4 = 0.5, ...")]
    problems: list[tuple[str, str]] = []
    for key, value in table.items():
        path = f"{CONFIG_TABLE}.{key}"
        if key != "default" and not _CLOCK_NAME.fullmatch(key):
            problems.append((path, f"{key!r} is not a clock name (e.g. L1, L2, L4, R4, L6, T7) or 'default'"))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append((path, f"must be a number between 0 and 1 (a share of the span), not {value!r}"))
        elif not 0 < value < 1:
            problems.append((path, f"must be between 0 and 1 exclusive (0.75 = at 75 %), not {value}"))
    return problems


# ----------------------------------------------------------------------------- the clocks


def running_clocks(engine: Any, now: datetime) -> list[RunningClock]:
    """Every clock that runs at ``now`` and has not passed its due instant, with its warning instant.

    Read from the one running-clocks model (``complaint_clocks``): two statements whatever
    the number of clocks (the rows, then the open tasks of their instances for the owners).
    """
    with engine.reader() as session:
        connection = session.connection()
        rows = connection.execute(
            select(
                ComplaintClock.instance_id,
                ComplaintClock.clock,
                ComplaintClock.started_at,
                ComplaintClock.due_at,
                ComplaintClock.warn_at,
                Instance.business_key,
                Instance.deployment_id,
                records.Complaint.first_contact_owner,
            )
            .join(Instance, Instance.id == ComplaintClock.instance_id)
            .join(records.Complaint, records.Complaint.instance_id == ComplaintClock.instance_id)
            .where(ComplaintClock.status == RUNNING, ComplaintClock.due_at > now)
            .where(Instance.status == "running")
        ).all()
        tasks = _open_tasks(connection, {row.instance_id for row in rows})
    found = []
    for row in rows:
        runtime = engine.runtime(row.deployment_id)
        task = _owning_task(runtime.clock_catalogue, row.clock, tasks.get(row.instance_id, []))
        share = fraction(runtime.config, row.clock)
        # a row written before warn_at existed (t0008) warns at the plain share until rewritten
        warn = (
            row.warn_at
            or min(row.started_at, row.due_at) + (row.due_at - min(row.started_at, row.due_at)) * share
        )
        found.append(
            RunningClock(
                instance_id=row.instance_id,
                business_key=row.business_key,
                clock=row.clock,
                start=row.started_at,
                due_at=row.due_at,
                warn_at=warn,
                fraction=share,
                task_id=task.id if task is not None else None,
                assignee=task.assignee if task is not None else row.first_contact_owner,
                candidate_group=task.candidate_group if task is not None else None,
            )
        )
    return sorted(found, key=lambda clock: (clock.warn_at, clock.instance_id, clock.clock))


def about_to_breach(engine: Any, now: datetime) -> list[RunningClock]:
    """The clocks whose warning instant has come (``warn_at <= now < due_at``): what a sweep sends."""
    return [clock for clock in running_clocks(engine, now) if clock.warn_at <= now]


def next_warning_at(engine: Any, now: datetime) -> datetime | None:
    """The earliest warning instant still ahead: when the scheduler should look again."""
    ahead = [clock.warn_at for clock in running_clocks(engine, now) if clock.warn_at > now]
    return min(ahead, default=None)


def _open_tasks(connection: Any, instance_ids: set[int]) -> dict[int, list[Any]]:
    if not instance_ids:
        return {}
    found: dict[int, list[Any]] = {}
    query = (
        select(
            HumanTask.id,
            HumanTask.instance_id,
            HumanTask.element_id,
            HumanTask.assignee,
            HumanTask.candidate_group,
        )
        .where(HumanTask.status == "open", HumanTask.instance_id.in_(instance_ids))
        .order_by(HumanTask.created_at.desc())
    )
    for row in connection.execute(query):
        found.setdefault(row.instance_id, []).append(row)
    return found


def _owning_task(catalogue: Any, clock: str, open_tasks: list[Any]) -> Any:
    """Who is warned: the open task the clock's timer guards (or that runs inside the subprocess
    it is attached to, for a timer drawn around a stretch of the path: T7); else (a clock no task
    guards, such as a start timer of an event subprocess, L1) nobody's task: the first-contact
    owner (A1); a clock the diagram has no timer for yet warns whoever has the complaint's
    newest open task."""
    timers = catalogue.of_clock(clock)
    guarded = {element for timer in timers for element in catalogue.guarded_elements(timer)}
    for task in open_tasks:
        if task.element_id in guarded:
            return task
    if guarded:
        return None
    return open_tasks[0] if open_tasks else None
