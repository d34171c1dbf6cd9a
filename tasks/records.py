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

How each column is filled: ``tasks.complaint_projection``; the names and helpers both
modules share: ``tasks.record_fields``.

Queries: :func:`find_by_number`, :func:`find_by_phone`, :func:`find_by_account`,
:func:`open_complaint_numbers` (T2 lookup at intake), :func:`complaint_of_instance`.

Numbers are ``<prefix>-<yyyymmdd>-<nnnn>``, gap-free per day of acceptance in the branch's
zone: :func:`next_number` increments a per-day counter row in the command's transaction
(the row lock serialises concurrent intakes on PostgreSQL; SQLite has one writer).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Integer, String, Text, insert, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.driver_sql import DriverSql, read_instant
from engine.element_properties import with_property
from engine.models import HumanTask, Instance, UTCDateTime
from tasks.complaint_projection import project_complaint as project_complaint
from tasks.record_fields import CONCLUSION_FIELDS as CONCLUSION_FIELDS
from tasks.record_fields import INTAKE_STAGE as INTAKE_STAGE
from tasks.record_fields import STAGE_PROPERTY as STAGE_PROPERTY
from tasks.record_fields import normalise_phone as normalise_phone

MIGRATIONS = Path(__file__).with_name("migrations") / "versions"


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


def intake_element(elements: Mapping[str, Mapping[str, str]]) -> str | None:
    """A1, A5: the record task of first contact, the one user task whose ``stage`` property is
    ``intake`` in the version's diagrams (``elements``: ``Runtime.element_properties``), so no
    element id of the procedure is spelled in Python. None if the version draws none."""
    found = [
        element for element, stage in with_property(elements, STAGE_PROPERTY).items() if stage == INTAKE_STAGE
    ]
    return found[0] if len(found) == 1 else None


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
