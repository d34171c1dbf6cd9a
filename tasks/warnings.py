"""Which clock is about to breach: warnings before a deadline passes (L1, L2, L4, R4, L6, T7; L7).

A clock runs from a start to a due instant; it is *about to breach* once the configured
fraction of that span has passed (``[warnings]`` in procedure.toml, default 0.75, one
override per clock), until the due instant or until the clock stops. The fraction comes
from the version the complaint runs on, like every other figure of the procedure.

Where the clocks come from (no workflow is loaded):

* **a user task guarded by a deadline timer**: the open ``human_tasks`` row with a
  ``due_at`` (the engine writes the earliest boundary timer there). Its clock is named
  by :data:`CLOCK_OF_ELEMENT` (an element not listed is named by its element id, so a
  timer added to the diagram is warned about before anyone names it). The start is the
  creation of the *first* task of that element and instance with the same due instant:
  an E5 return re-opens the handling task with the deadline set at dispatch, and its
  span must not shrink to the rework. An E3 extension moves the due instant: a new
  clock (new key) starting when the task was entered again.
* **L6 call-back window** (R6): an unreached customer gets further attempts within 48 hours
  of the first one (``contact_due = due_in("PT48H")`` in ``task_reply_customer``'s
  postScript; :data:`CONTACT_WINDOW` mirrors it). The retry task has no timer, so the clock
  runs from the completion of the reply attempt that opened the attempts (the latest
  ``task_reply_customer`` completed before the open ``task_retry_contact``) while that
  retry task is open, and warns its owner.
* **L1 first reply**: no task guards it. It runs from the instance start for 24 hours
  (``tasks.records.first_reply_due``) while the complaint record is open and has no
  ``first_reply_at``. Its owner is whoever recorded the complaint (A1).

A clock stops when its task closes (completed or withdrawn) or, for L1, when the first
reply is recorded; a stopped clock is never warned about. The key of a warning is
``(instance, clock, due)``: whoever sends it stores that key uniquely, so it goes out
once however many nodes sweep (web/notifications.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from engine.models import HumanTask, Instance
from tasks import records

DEFAULT_FRACTION = 0.75
CONFIG_TABLE = "warnings"

# The user task that guards each clock, by element id (the rule id is the clock's name).
CLOCK_OF_ELEMENT: dict[str, str] = {
    "task_review_dispatch": "L2",
    "task_handle_order": "L4",
    "task_reply_customer": "R4",
    "task_report_outside": "T7",
}
FIRST_REPLY_CLOCK = "L1"
INTAKE_ELEMENT = "task_record_complaint"
CONTACT_CLOCK = "L6"
CONTACT_WINDOW = timedelta(hours=48)  # R6: the diagram's contact_due = due_in("PT48H")
REPLY_ELEMENT, RETRY_ELEMENT = "task_reply_customer", "task_retry_contact"
# Names a [warnings] override may use: the clocks above, or a rule-id-like name for a clock
# a later version adds (an element without a name in CLOCK_OF_ELEMENT uses its element id).
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


def fraction(config: Mapping[str, Any], clock: str) -> float:
    """The share of ``clock``'s span after which it is about to breach (checked at deploy)."""
    table = config.get(CONFIG_TABLE) or {}
    value = table.get(clock, table.get("default", DEFAULT_FRACTION))
    return float(value)


def clock_of(element_id: str) -> str:
    return CLOCK_OF_ELEMENT.get(element_id, element_id)


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
    """Every clock that runs at ``now`` and has not passed its due instant, with its warning instant."""
    with engine.reader() as session:
        connection = session.connection()
        found = (
            _task_clocks(engine, connection, now)
            + _first_reply_clocks(engine, connection, now)
            + _contact_window_clocks(engine, connection, now)
        )
    return sorted(found, key=lambda clock: (clock.warn_at, clock.instance_id, clock.clock))


def about_to_breach(engine: Any, now: datetime) -> list[RunningClock]:
    """The clocks whose warning instant has come (``warn_at <= now < due_at``): what a sweep sends."""
    return [clock for clock in running_clocks(engine, now) if clock.warn_at <= now]


def next_warning_at(engine: Any, now: datetime) -> datetime | None:
    """The earliest warning instant still ahead: when the scheduler should look again."""
    ahead = [clock.warn_at for clock in running_clocks(engine, now) if clock.warn_at > now]
    return min(ahead, default=None)


def _task_clocks(engine: Any, connection: Any, now: datetime) -> list[RunningClock]:
    first = HumanTask.__table__.alias("first_of_due")
    start = (
        select(func.min(first.c.created_at))
        .where(
            and_(
                first.c.instance_id == HumanTask.instance_id,
                first.c.element_id == HumanTask.element_id,
                first.c.due_at == HumanTask.due_at,
            )
        )
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            HumanTask.id,
            HumanTask.instance_id,
            HumanTask.element_id,
            HumanTask.due_at,
            HumanTask.assignee,
            HumanTask.candidate_group,
            start.label("start"),
            Instance.business_key,
            Instance.deployment_id,
        )
        .join(Instance, Instance.id == HumanTask.instance_id)
        .where(HumanTask.status == "open", HumanTask.due_at.is_not(None), HumanTask.due_at > now)
        .where(Instance.status == "running")
    )
    clocks = []
    for row in rows:
        name = clock_of(row.element_id)
        share = fraction(engine.runtime(row.deployment_id).config, name)
        clocks.append(
            _clock(
                row.instance_id,
                row.business_key,
                name,
                row.start,
                row.due_at,
                share,
                row.id,
                row.assignee,
                row.candidate_group,
            )
        )
    return clocks


def _first_reply_clocks(engine: Any, connection: Any, now: datetime) -> list[RunningClock]:
    intake = HumanTask.__table__.alias("intake_task")

    def of_intake(column):
        return (
            select(column)
            .where(intake.c.instance_id == records.Complaint.instance_id)
            .where(intake.c.element_id == INTAKE_ELEMENT)
            .order_by(intake.c.created_at)
            .limit(1)
            .scalar_subquery()
        )

    rows = connection.execute(
        select(
            records.Complaint.instance_id,
            records.Complaint.number,
            Instance.created_at,
            Instance.deployment_id,
            Instance.started_by,
            of_intake(intake.c.completed_by).label("recorded_by"),
            of_intake(intake.c.candidate_group).label("intake_group"),
        )
        .join(Instance, Instance.id == records.Complaint.instance_id)
        .where(
            records.Complaint.status == "open",
            records.Complaint.first_reply_at.is_(None),
            Instance.status == "running",
            Instance.created_at > now - records.FIRST_REPLY_WITHIN,
        )
    )
    clocks = []
    for row in rows:
        share = fraction(engine.runtime(row.deployment_id).config, FIRST_REPLY_CLOCK)
        due_at = row.created_at + records.FIRST_REPLY_WITHIN
        clocks.append(
            _clock(
                row.instance_id,
                row.number,
                FIRST_REPLY_CLOCK,
                row.created_at,
                due_at,
                share,
                None,
                row.recorded_by or row.started_by,
                row.intake_group,
            )
        )
    return clocks


def _contact_window_clocks(engine: Any, connection: Any, now: datetime) -> list[RunningClock]:
    reply = HumanTask.__table__.alias("reply_attempt")
    first_attempt = (
        select(func.max(reply.c.completed_at))
        .where(
            reply.c.instance_id == HumanTask.instance_id,
            reply.c.element_id == REPLY_ELEMENT,
            reply.c.status == "completed",
            reply.c.completed_at <= HumanTask.created_at,
        )
        .scalar_subquery()
    )
    rows = connection.execute(
        select(
            HumanTask.id,
            HumanTask.instance_id,
            HumanTask.assignee,
            HumanTask.candidate_group,
            first_attempt.label("start"),
            Instance.business_key,
            Instance.deployment_id,
        )
        .join(Instance, Instance.id == HumanTask.instance_id)
        .where(HumanTask.status == "open", HumanTask.element_id == RETRY_ELEMENT)
        .where(Instance.status == "running")
    )
    clocks = []
    for row in rows:
        if row.start is None or row.start + CONTACT_WINDOW <= now:
            continue
        share = fraction(engine.runtime(row.deployment_id).config, CONTACT_CLOCK)
        clocks.append(
            _clock(
                row.instance_id,
                row.business_key,
                CONTACT_CLOCK,
                row.start,
                row.start + CONTACT_WINDOW,
                share,
                row.id,
                row.assignee,
                row.candidate_group,
            )
        )
    return clocks


def _clock(instance_id, business_key, name, start, due_at, share, task_id, assignee, group) -> RunningClock:
    start = min(start, due_at)
    return RunningClock(
        instance_id=instance_id,
        business_key=business_key,
        clock=name,
        start=start,
        due_at=due_at,
        warn_at=start + (due_at - start) * share,
        fraction=share,
        task_id=task_id,
        assignee=assignee,
        candidate_group=group,
    )
