"""The complaint record's projection: keeps the ``complaints`` row of an instance in step with
its data after every command, in that command's transaction (see ``tasks.records``).

Where each column comes from (the process data, see docs/rules.md "Data the process keeps"):

* the intake form and ``svc_register_complaint``: number, customer, channel, categories,
  type flags, order type, acceptance, ``repeat_of``, ``batch_tag``;
* ``stage``: the ``stage`` property of the *main-path* user task the complaint waits on now
  (drawn on the task in the diagram; the newest open one wins), read from the engine's open
  human tasks (written just before the projection runs). Side tasks (supervisor alerts, T2
  reminders) carry no stage and never change it. The process data is not used for the
  stage because a side branch carries a *copy* of the data from when it started, and the
  instance's current data lets the most recently changed task win on shared keys;
* ``status``: ``open`` while the instance runs, ``closed`` once it ended, ``error`` when the
  engine parked it; ``outcome`` and ``closed_at`` from ``closure`` (``close_complaint``);
* ``deadlines``: every clock of the running-clocks read model (``tasks.clocks``, from the
  diagrams' timers), its latest round: due, stop and outcome (``met`` null while it runs),
  each marked ``breached`` when a row of ``deadline_breaches`` exists for its clock.

A T2 call (repeat, still in progress) gets no row: it ends before registration and is
merged into the running complaint, whose ``reminders`` count goes up when the reminder
message is delivered (``tasks.repeats``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from engine.driver_sql import DriverSql, read_instant
from engine.element_properties import with_property
from tasks import clocks
from tasks import config as cfg
from tasks.deadlines import instant_or_none
from tasks.record_fields import CONCLUSION_FIELDS, FIRST_REPLY_FIGURE, STAGE_PROPERTY, normalise_phone


def clock_due(readings: Any, clock: str) -> datetime | None:
    """The due instant the diagram's timer of ``clock`` was armed with (the latest one armed).

    The span lives in the diagram (and its figure in procedure.toml), never here: L1 at 12 h
    in the timer gives 12 h in the record, the breach and the reports.
    """
    dues = [(r.armed_at or r.due_at, r.due_at) for r in readings if r.clock == clock]
    return max(dues)[1] if dues else None


def _previous_due(existing: Any, clock: str) -> datetime | None:
    """A clock's due as the record last showed it (its timer may have fired and gone since)."""
    if existing is None or not existing.deadlines:
        return None
    entry = json.loads(existing.deadlines).get(clock) or {}
    return instant_or_none(entry.get("due"))


def _stage(sql: DriverSql, instance_id: int, status: str, stages: Mapping[str, str]) -> str:
    """The stage of the newest open task carrying a ``stage`` property (``stages``)."""
    if status == "completed":
        return "closed"
    rows = sql.all(
        "SELECT element_id FROM human_tasks WHERE instance_id = :id AND status = 'open' "
        "ORDER BY created_at DESC, id DESC",
        id=instance_id,
    )
    for (element_id,) in rows:
        if element_id in stages:
            return stages[element_id]
    return "error" if status == "error" else "in_progress"


def _first_contact_owner(sql: DriverSql, instance_id: int, stages: Mapping[str, str]) -> str | None:
    """A1: the person who completed the first main-path task (the record, at first contact).

    Asked when the record is first written (the record task is then the only one done); the
    record keeps the answer from then on."""
    rows = sql.all(
        "SELECT element_id, completed_by FROM human_tasks WHERE instance_id = :id AND status = 'completed' "
        "ORDER BY completed_at, id",
        id=instance_id,
    )
    for element_id, completed_by in rows:
        if element_id in stages:
            return completed_by
    return None


def _reply_conclusion(data: Mapping[str, Any]) -> str | None:
    """R1: the conclusions the department's work-order reply stated, once it stated any."""
    found = {field: data[field] for field in CONCLUSION_FIELDS if data.get(field) is not None}
    return json.dumps(found, ensure_ascii=False, sort_keys=True) if found else None


def _first_reply_candidates(data: Mapping[str, Any]) -> list[datetime]:
    """L1: first replies the data shows: the reply attempt, or the resolution at first contact."""
    found = []
    attempts = data.get("contact_attempts") or []
    if attempts:
        found.append(datetime.fromisoformat(attempts[0]))
    closure = data.get("closure") if isinstance(data.get("closure"), Mapping) else {}
    if closure.get("outcome") == "resolved_at_first_contact":
        found.append(datetime.fromisoformat(closure["closed_at"]))
    return found


def first_reply_clock(elements: Mapping[str, Mapping[str, str]]) -> str | None:
    """L1: the clock of the timer showing the ``first_reply_deadline`` figure (its id drawn on it)."""
    for properties in elements.values():
        if properties.get("figure") == FIRST_REPLY_FIGURE and properties.get("clock"):
            return properties["clock"]
    return None


def _first_reply_entry(
    clock: str, due: datetime, first_reply: datetime | None, breached: bool, zone
) -> dict[str, Any]:
    late = (first_reply - due).total_seconds() if first_reply is not None else None
    return {
        "clock": clock,
        "due": due.astimezone(zone).isoformat(),
        "done_at": first_reply.astimezone(zone).isoformat() if first_reply is not None else None,
        "met": None if late is None else late <= 0,
        "late_by_s": None if late is None else max(late, 0.0),
        "breached": breached or (late is not None and late > 0),
    }


def measured_deadlines(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the domain measured itself: clocks a script still measures (``deadlines`` in the data)."""
    found = data.get("deadlines") or {}
    return {clock: dict(entry) for clock, entry in found.items() if isinstance(entry, Mapping)}


def deadline_summary(
    entries: Mapping[tuple[str, int], Mapping[str, Any]], breached: set[str], zone, closed: bool = False
) -> dict:
    """L7: each clock of the read model's latest round, as the record shows it.

    ``{clock, due, done_at, met, breached}`` (and ``late_by_s`` once measured); ``met`` is
    None while the clock runs. ``breached``: a breach row exists or the outcome is missed.
    A closed complaint lists only the clocks that were measured.
    """
    latest: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for (clock, number), entry in entries.items():
        if closed and entry.get("met") is None:
            continue
        if clock not in latest or number > latest[clock][0]:
            latest[clock] = (number, entry)
    summary: dict[str, Any] = {}
    for clock, (_, entry) in latest.items():
        due, done = instant_or_none(entry.get("due")), instant_or_none(entry.get("done_at"))
        shown: dict[str, Any] = {
            "clock": clock,
            "due": _shown(due, zone),
            "done_at": _shown(done, zone),
            "met": entry.get("met"),
            "breached": clock in breached or entry.get("met") is False,
        }
        if entry.get("met") is not None:
            shown["late_by_s"] = float(entry.get("late_by_s") or 0.0)
        if entry.get("extensions"):  # E3: the due moved; the first one is kept
            shown["extensions"] = entry["extensions"]
            shown["first_due"] = _shown(instant_or_none(entry.get("first_due")), zone)
        summary[clock] = shown
    return summary


def _shown(value: datetime | None, zone) -> str | None:
    if value is None:
        return None
    return (value.astimezone(zone) if zone is not None else value).isoformat()


@dataclass(frozen=True)
class _Previous:
    """What the projection reads of the record it is about to rewrite."""

    status: str
    first_contact_owner: str | None
    first_reply_at: datetime | None
    deadlines: str | None
    accepted_at: datetime | None
    channel: str | None
    business_category: str | None
    nature_category: str | None
    type_flags: str | None


_PREVIOUS_SQL = (
    f"SELECT {', '.join(field.name for field in fields(_Previous))} FROM complaints WHERE instance_id = :id"
)
# The record's columns the projection writes, in one statement each way (engine.driver_sql).
_WRITTEN = (
    "number", "customer_name", "customer_phone", "customer_account", "channel", "business_category",
    "nature_category", "type_flags", "priority", "stage", "status", "repeat_of", "batch_tag", "batch_handler",
    "accepted_at",
    "closed_at", "outcome", "reply_conclusion", "outside_due", "updated_at", "first_contact_owner",
    "first_reply_at", "deadlines",
)  # fmt: skip
_INSTANTS = frozenset({"accepted_at", "closed_at", "outside_due", "updated_at", "first_reply_at"})
_UPDATE_SQL = "UPDATE complaints SET {} WHERE instance_id = :instance_id".format(
    ", ".join(f"{name} = :{name}" for name in _WRITTEN)
)
_INSERT_SQL = (
    f"INSERT INTO complaints (instance_id, reminders, {', '.join(_WRITTEN)}) "
    f"VALUES (:instance_id, 0, {', '.join(':' + name for name in _WRITTEN)})"
)


def _previous(sql: DriverSql, instance_id: int) -> _Previous | None:
    row = sql.one(_PREVIOUS_SQL, id=instance_id)
    if row is None:
        return None
    found = dict(zip((field.name for field in fields(_Previous)), row, strict=True))
    found["first_reply_at"] = read_instant(found["first_reply_at"])
    found["accepted_at"] = read_instant(found["accepted_at"])
    return _Previous(**found)


def project_complaint(projection: Any) -> None:
    """Keep the ``complaints`` row of the instance in step with its data (every command).

    Registered by ``tasks.registry.build_registry``. Instances without a number (still at
    intake, or a T2 call merged into a running complaint) have no row. Runs on every
    command, so its statements go to the driver as plain SQL (``engine.driver_sql``).
    """
    data = projection.data
    number = data.get("complaint_no")
    if not number:
        return
    connection = projection.connection
    sql = DriverSql(connection)
    closure = data.get("closure") if isinstance(data.get("closure"), Mapping) else None
    breached = {
        clock
        for (clock,) in sql.all(
            "SELECT DISTINCT clock FROM deadline_breaches WHERE instance_id = :id", id=projection.instance_id
        )
    }
    stages = with_property(projection.elements, STAGE_PROPERTY)
    status = {"completed": "closed", "running": "open"}.get(projection.status, projection.status)
    values = {
        "number": number,
        "customer_name": data.get("customer_name"),
        "customer_phone": normalise_phone(data["customer_phone"]) if data.get("customer_phone") else None,
        "customer_account": (data.get("customer_account") or "").strip() or None,
        "channel": data.get("channel"),
        "business_category": data.get("business_category"),
        "nature_category": data.get("nature_category"),
        "type_flags": ",".join(data.get("complaint_types") or []),
        "priority": data.get("order_type") or "ordinary",
        "stage": _stage(sql, projection.instance_id, projection.status, stages),
        "status": status,
        "repeat_of": data.get("repeat_of") or None,
        "batch_tag": data.get("batch_tag") or None,
        "batch_handler": data.get("batch_handler") or None,
        "accepted_at": instant_or_none(data.get("accepted_at")),
        "closed_at": instant_or_none(closure.get("closed_at")) if closure else None,
        "outcome": closure.get("outcome") if closure else None,
        "reply_conclusion": _reply_conclusion(data),
        "outside_due": instant_or_none(data.get("outside_deadline")),
        "updated_at": projection.now,
    }
    existing = _previous(sql, projection.instance_id)
    values["first_contact_owner"] = (
        existing.first_contact_owner
        if existing is not None and existing.first_contact_owner
        else _first_contact_owner(sql, projection.instance_id, stages)
    )
    candidates = _first_reply_candidates(data)
    if existing is not None and existing.first_reply_at is not None:
        candidates.append(existing.first_reply_at)
    first_reply = min(candidates) if candidates else None
    values["first_reply_at"] = first_reply
    measured = measured_deadlines(data)
    zone = instant_or_none(data.get("accepted_at")).tzinfo if data.get("accepted_at") else None
    first = first_reply_clock(projection.elements)  # L1, as drawn on its timer
    first_due = (clock_due(projection.clocks, first) or _previous_due(existing, first)) if first else None
    if first is not None and first_due is not None:
        measured[first] = _first_reply_entry(first, first_due, first_reply, first in breached, zone)
    entries = clocks.project_clocks(  # the one running-clocks read model and the rollups (tasks/clocks.py)
        connection,
        instance_id=projection.instance_id,
        data=data,
        summary=measured,
        values=values,
        previous=existing,
        now=projection.now,
        zone=cfg.branch_zone(projection.config),
        readings=projection.clocks,
        config=projection.config,
    )
    summary = deadline_summary(entries, breached, zone, closed=status == "closed")
    values["deadlines"] = json.dumps(summary, ensure_ascii=False, sort_keys=True)
    params = {name: sql.instant(value) if name in _INSTANTS else value for name, value in values.items()}
    sql.run(_INSERT_SQL if existing is None else _UPDATE_SQL, instance_id=projection.instance_id, **params)
