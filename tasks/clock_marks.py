"""How a clock looks to a reader: the inbox colour, the complaint page's deadlines table.

Every reader takes the clock from the one model (``complaint_clocks``: started, due, warn_at,
outcome), so the inbox row, the complaint page, the warning sweep and the at-risk report
agree after an E5 return, an E3 extension or a V1 second dispatch. A user task's colour is
its guarding clock's: the catalogue (``engine.clock_catalogue``) says which clocks guard the
task's element, so no element id is named here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tasks.clocks import RUNNING, ComplaintClock

OVERDUE, SOON = "overdue", "soon"


def clock_rows(
    connection: Any, instance_ids: Iterable[int], running_only: bool = True
) -> dict[int, list[Any]]:
    """The clock rows of some instances (one statement), by instance, in start order."""
    wanted = set(instance_ids)
    if not wanted:
        return {}
    query = select(ComplaintClock).where(ComplaintClock.instance_id.in_(wanted))
    if running_only:
        query = query.where(ComplaintClock.status == RUNNING)
    found: dict[int, list[Any]] = {}
    rows = connection.execute(query.order_by(ComplaintClock.started_at, ComplaintClock.id)).mappings()
    for row in rows:
        found.setdefault(row["instance_id"], []).append(row)
    return found


def clock_state(row: Any, now: datetime) -> str:
    """``overdue`` past due, ``soon`` past warn_at, else ``""`` (a stopped clock is ``""``)."""
    if row["status"] != RUNNING:
        return ""
    if now >= row["due_at"]:
        return OVERDUE
    if row["warn_at"] is not None and now >= row["warn_at"]:
        return SOON
    return ""


def task_state(catalogue: Any, rows: list[Any], element_id: str, now: datetime) -> str | None:
    """The colour of an open task: its guarding clocks' worst state; None when no clock row
    guards it (the caller falls back to the task's own due instant)."""
    guarding = {timer.clock for timer in catalogue.guarded_by(element_id)} if catalogue is not None else set()
    states = [clock_state(row, now) for row in rows if row["clock"] in guarding]
    if not states:
        return None
    return OVERDUE if OVERDUE in states else (SOON if SOON in states else "")
