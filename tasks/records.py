"""The complaint domain's own tables, written in each command's transaction.

Two records live here:

* **Deadline breaches** (L7), recorded when a deadline timer fires: the timer's branch of
  the process ends at once, so its data never reaches the main path, but a row written
  through the command's connection commits with the firing itself.
* **The complaint record** (``complaints``): one row per numbered complaint, kept by the
  projection :func:`project_complaint` after every command, in that command's transaction,
  so an inbox, a search by phone or a report never loads a workflow. It holds a readable
  number (C4), the customer, the channel (C1), exactly one business and one nature
  category (C2, C3), the type flags (C5, comma-separated), the order type as ``priority``
  (H1: ``ordinary`` / ``urgent``), the stage and status, the links (``repeat_of`` for T3,
  ``batch_tag`` for T4), acceptance and closing instants, the outcome and every deadline
  with its outcome (L7, JSON). The T2 reminders a running complaint received are counted.

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

Queries: :func:`find_by_number`, :func:`find_by_phone`, :func:`find_by_account`,
:func:`open_complaint_numbers` (T2 lookup at intake), :func:`complaint_of_instance`.

Numbers are ``<prefix>-<yyyymmdd>-<nnnn>``, gap-free per day of acceptance in the branch's
zone: :func:`next_number` increments a per-day counter row in the command's transaction
(the row lock serialises concurrent intakes on PostgreSQL; SQLite has one writer).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Integer, String, Text, insert, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.driver_sql import DriverSql, read_instant
from engine.element_properties import with_property
from engine.models import HumanTask, Instance, UTCDateTime
from tasks import clocks
from tasks import config as cfg
from tasks.deadlines import instant_or_none

MIGRATIONS = Path(__file__).with_name("migrations") / "versions"

# L1: the config key of the first-reply figure; the clock whose timer shows it is stopped by
# the first reply, which the domain records (whichever path it comes from).
FIRST_REPLY_FIGURE = "first_reply_deadline"

# The user-task property naming the complaint's stage while that task is open (main-path
# tasks carry it; side tasks such as supervisor alerts and T2 reminders do not).
STAGE_PROPERTY = "stage"

# R1: the work-order reply's conclusions a later reply to the same customer must agree with
# (E1 responsibility, H2 over-charge, H5 form of compensation).
CONCLUSION_FIELDS = ("company_responsible", "overcharged", "compensation_form")


class DeadlineBreach(Base):
    """L7: a deadline that passed, per complaint instance and clock (rule id)."""

    __tablename__ = "deadline_breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    clock: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late_by_s: Mapped[float] = mapped_column(Float)


class Complaint(Base):
    """The complaint record: one row per numbered complaint (see the module docstring)."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_name: Mapped[str | None] = mapped_column(String(100))
    customer_phone: Mapped[str | None] = mapped_column(String(40), index=True)
    customer_account: Mapped[str | None] = mapped_column(String(60), index=True)
    channel: Mapped[str | None] = mapped_column(String(40))
    business_category: Mapped[str | None] = mapped_column(String(60))
    nature_category: Mapped[str | None] = mapped_column(String(60))
    type_flags: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[str] = mapped_column(String(20), default="ordinary")
    stage: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    repeat_of: Mapped[str | None] = mapped_column(String(40), index=True)
    batch_tag: Mapped[str | None] = mapped_column(String(60), index=True)
    # T4: the branch complaint handler (投诉处理员) following the whole batch (revision t0010).
    batch_handler: Mapped[str | None] = mapped_column(String(200), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    deadlines: Mapped[str] = mapped_column(Text, default="{}")
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_conclusion: Mapped[str | None] = mapped_column(Text)
    # A1: who took the complaint at first contact (completed the record task); kept until closed.
    first_contact_owner: Mapped[str | None] = mapped_column(String(200), index=True)
    # T6: an escalated complaint's outside unit deadline (``outside_deadline`` at intake).
    outside_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def flags(self) -> list[str]:
        return [flag for flag in self.type_flags.split(",") if flag]

    @property
    def deadline_outcomes(self) -> dict[str, Any]:
        return json.loads(self.deadlines or "{}")

    @property
    def conclusion(self) -> dict[str, Any]:
        """R1: what the department's reply concluded (``CONCLUSION_FIELDS``), empty before it."""
        return json.loads(self.reply_conclusion or "{}")


class ComplaintNumber(Base):
    """C4: the last number given per day of acceptance (gap-free readable numbers)."""

    __tablename__ = "complaint_numbers"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


# ----------------------------------------------------------------------------- breaches


def record_breach(connection: Any, *, instance_id: int, clock: str, due_at: datetime, at: datetime) -> None:
    """L7: one row per missed deadline. A task re-entered with the same deadline already past
    (E5 rework, an R3 draft returned to the replier) fires its timer again at once: that is
    the same breach, not a second one, so it is not counted twice."""
    already = connection.execute(
        select(DeadlineBreach.id).where(
            DeadlineBreach.instance_id == instance_id,
            DeadlineBreach.clock == clock,
            DeadlineBreach.due_at == due_at,
        )
    ).first()
    if already is not None:
        return
    connection.execute(
        insert(DeadlineBreach).values(
            instance_id=instance_id,
            clock=clock,
            due_at=due_at,
            breached_at=at,
            late_by_s=(at - due_at).total_seconds(),
        )
    )


def breaches_of(connection: Any, instance_id: int) -> list[DeadlineBreach]:
    rows = connection.execute(
        select(DeadlineBreach).where(DeadlineBreach.instance_id == instance_id).order_by(DeadlineBreach.id)
    )
    return list(rows)


# ----------------------------------------------------------------------------- numbers


def next_number(connection: Any, prefix: str, accepted: datetime) -> str:
    """C4: ``<prefix>-<yyyymmdd>-<nnnn>``, the next of the day (``accepted`` in the branch's zone)."""
    day = f"{accepted:%Y%m%d}"
    sql = DriverSql(connection)
    sql.run(
        "INSERT INTO complaint_numbers (day, last) VALUES (:day, 0) ON CONFLICT (day) DO NOTHING", day=day
    )
    (last,) = sql.one("UPDATE complaint_numbers SET last = last + 1 WHERE day = :day RETURNING last", day=day)
    return f"{prefix}-{day}-{last:04d}"


# ----------------------------------------------------------------------------- queries


def _complaints(connection: Any, query) -> list[Complaint]:
    """Complaint objects from a Connection (a command's) or a Session (a page's)."""
    if isinstance(connection, Session):
        return list(connection.scalars(query))
    with Session(bind=connection, expire_on_commit=False) as session:
        found = list(session.scalars(query))
        session.expunge_all()
    return found


def find_by_number(connection: Any, number: str) -> Complaint | None:
    found = _complaints(connection, select(Complaint).where(Complaint.number == number.strip()))
    return found[0] if found else None


def batch_complaints(connection: Any, batch_tag: str) -> list[Complaint]:
    """T4: every complaint of a batch (its tag), the oldest first: what its handler follows."""
    query = select(Complaint).where(Complaint.batch_tag == batch_tag.strip())
    return _complaints(connection, query.order_by(Complaint.accepted_at, Complaint.id))


def batch_handler_of(connection: Any, batch_tag: str, *, besides: int | None = None) -> str | None:
    """T4: the person already following the batch ``batch_tag`` (named on an earlier complaint
    of it), not counting instance ``besides``; None for a new batch."""
    for row in batch_complaints(connection, batch_tag):
        if row.batch_handler and row.instance_id != besides:
            return row.batch_handler
    return None


def complaint_of_instance(connection: Any, instance_id: int) -> Complaint | None:
    found = _complaints(connection, select(Complaint).where(Complaint.instance_id == instance_id))
    return found[0] if found else None


def complaints_of_instances(connection: Any, instance_ids: list[int]) -> dict[int, Complaint]:
    """The records of these instances (e.g. one inbox page), keyed by instance id."""
    if not instance_ids:
        return {}
    found = _complaints(connection, select(Complaint).where(Complaint.instance_id.in_(instance_ids)))
    return {complaint.instance_id: complaint for complaint in found}


URGENT_TYPES = ("major", "repeat", "batch", "escalated")


def instances_matching(*, phone: str | None = None, complaint_type: str | None = None):
    """A SELECT of the instance ids whose complaint has this phone and/or this type flag.

    For narrowing an inbox (engine.inbox.InboxFilter.instances) by what the domain knows.
    """
    query = select(Complaint.instance_id)
    if phone:
        query = query.where(Complaint.customer_phone == normalise_phone(phone))
    if complaint_type:
        flag = complaint_type.strip()
        query = query.where(
            or_(
                Complaint.type_flags == flag,
                Complaint.type_flags.startswith(f"{flag},"),
                Complaint.type_flags.endswith(f",{flag}"),
                Complaint.type_flags.contains(f",{flag},"),
            )
        )
    return query


def _open_or_recent(connection: Any, condition, now: datetime | None, recent: timedelta) -> list[Complaint]:
    query = select(Complaint).where(condition)
    if now is not None:
        query = query.where(or_(Complaint.status != "closed", Complaint.closed_at >= now - recent))
    return _complaints(connection, query.order_by(Complaint.accepted_at.desc(), Complaint.id.desc()))


def find_by_phone(
    connection: Any, phone: str, *, now: datetime | None = None, recent: timedelta = timedelta(days=90)
) -> list[Complaint]:
    """T2, T3: the customer's complaints by contact phone, newest first.

    With ``now``: only the open ones and those closed within ``recent`` (what an intake
    agent needs to see to tell a repeat from a new matter); without: all of them.
    """
    return _open_or_recent(connection, Complaint.customer_phone == normalise_phone(phone), now, recent)


def find_by_account(
    connection: Any, account: str, *, now: datetime | None = None, recent: timedelta = timedelta(days=90)
) -> list[Complaint]:
    """T2, T3: the customer's complaints by service account, newest first (as ``find_by_phone``)."""
    return _open_or_recent(connection, Complaint.customer_account == account.strip(), now, recent)


def open_complaint_numbers(connection: Any, phone: str | None, account: str | None) -> list[str]:
    """T2: the numbers of the customer's complaints still in progress, by phone or account.

    Asked by the intake validator on every record submitted, so plain SQL (engine.driver_sql).
    """
    conditions, params = [], {}
    if phone:
        conditions.append("customer_phone = :phone")
        params["phone"] = normalise_phone(phone)
    if account and account.strip():
        conditions.append("customer_account = :account")
        params["account"] = account.strip()
    if not conditions:
        return []
    rows = DriverSql(connection).all(
        f"SELECT number FROM complaints WHERE status = 'open' AND ({' OR '.join(conditions)}) ORDER BY id",
        **params,
    )
    return [number for (number,) in rows]


def count_reminder(connection: Any, instance_id: int) -> None:
    """T2: a reminder (催办) reached the running complaint."""
    connection.execute(
        update(Complaint)
        .where(Complaint.instance_id == instance_id)
        .values(reminders=Complaint.reminders + 1)
    )


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


def record_first_reply(connection: Any, instance_id: int, at: datetime) -> datetime | None:
    """L1: keep the earliest first reply on the record; returns the one kept (None: no record)."""
    sql = DriverSql(connection)
    row = sql.one("SELECT first_reply_at FROM complaints WHERE instance_id = :id", id=instance_id)
    if row is None:
        return None
    kept = read_instant(row[0])
    if kept is not None and kept <= at:
        return kept
    sql.run(
        "UPDATE complaints SET first_reply_at = :at WHERE instance_id = :id",
        at=sql.instant(at),
        id=instance_id,
    )
    return at


def normalise_phone(phone: str) -> str:
    """Digits (and a leading +) only, so '138 0013 8000' finds '13800138000'."""
    text = phone.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return f"+{digits}" if text.startswith("+") else digits


# ----------------------------------------------------------------------------- projection


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


INTAKE_STAGE = "intake"


def intake_element(elements: Mapping[str, Mapping[str, str]]) -> str | None:
    """A1, A5: the record task of first contact, the one user task whose ``stage`` property is
    ``intake`` in the version's diagrams (``elements``: ``Runtime.element_properties``), so no
    element id of the procedure is spelled in Python. None if the version draws none."""
    found = [
        element for element, stage in with_property(elements, STAGE_PROPERTY).items() if stage == INTAKE_STAGE
    ]
    return found[0] if len(found) == 1 else None


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


def open_escalated(connection: Any) -> list[Complaint]:
    """T6: every open escalated complaint, the nearest outside deadline first."""
    query = (
        select(Complaint)
        .where(
            Complaint.status == "open",
            Complaint.instance_id.in_(instances_matching(complaint_type="escalated")),
        )
        .order_by(Complaint.outside_due.is_(None), Complaint.outside_due, Complaint.accepted_at)
    )
    return _complaints(connection, query)


def current_holders(connection: Any, instance_ids: list[int], engine: Any) -> dict[int, str]:
    """T6: who holds each complaint now: the assignee of its newest open main-path task (one
    carrying a ``stage`` property in the instance's version, ``engine.runtime``), else its group."""
    if not instance_ids:
        return {}
    query = (
        select(
            HumanTask.instance_id,
            Instance.deployment_id,
            HumanTask.element_id,
            HumanTask.assignee,
            HumanTask.candidate_group,
        )
        .join(Instance, Instance.id == HumanTask.instance_id)
        .where(HumanTask.instance_id.in_(instance_ids), HumanTask.status == "open")
        .order_by(HumanTask.created_at.desc(), HumanTask.id.desc())
    )
    stages: dict[int, dict[str, str]] = {}
    holders: dict[int, str] = {}
    for instance_id, deployment_id, element, assignee, group in connection.execute(query):
        if deployment_id not in stages:
            properties = engine.runtime(deployment_id).element_properties
            stages[deployment_id] = with_property(properties, STAGE_PROPERTY)
        if instance_id not in holders and element in stages[deployment_id]:
            holders[instance_id] = assignee or group or ""
    return holders


def owned_by(connection: Any, username: str, *, open_only: bool = True) -> list[Complaint]:
    """A1: the complaints this person took at first contact, the newest first."""
    query = select(Complaint).where(Complaint.first_contact_owner == username)
    if open_only:
        query = query.where(Complaint.status == "open")
    return _complaints(connection, query.order_by(Complaint.accepted_at.desc(), Complaint.id.desc()))


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

    Registered on ``REGISTRY`` by ``tasks.handlers``. Instances without a number (still at
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
