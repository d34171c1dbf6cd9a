"""Search across all complaints, open and closed, from the complaint record (never a workflow).

One text box finds a complaint by its number (C4, whole or part), the customer's phone
(normalised as the record keeps it), name (part) or service account; filters narrow by
status, type flag (C5), channel (C1), handling department (from ``tasks.contacts``) and
the day of acceptance. Who may open what is the caller's condition on ``Instance``
(web.access), applied in the same query, so each person sees, and counts, only what
they may open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from engine.models import Instance
from tasks import contacts, records
from tasks.records import Complaint

PAGE_SIZE = 20


@dataclass(frozen=True)
class Query:
    text: str = ""
    status: str | None = None
    complaint_type: str | None = None
    channel: str | None = None
    department: str | None = None
    accepted_from: datetime | None = None  # inclusive
    accepted_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Page:
    rows: list[Complaint]
    departments: dict[int, str | None]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def search(
    session: Session,
    query: Query,
    visible: ColumnElement[bool] | None = None,
    page: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of the complaints matching ``query`` that ``visible`` lets the caller open."""
    contact = contacts.ComplaintContact
    conditions = [_text_condition(query.text)]
    if query.status:
        conditions.append(Complaint.status == query.status)
    if query.complaint_type:
        conditions.append(
            Complaint.instance_id.in_(records.instances_matching(complaint_type=query.complaint_type))
        )
    if query.channel:
        conditions.append(Complaint.channel == query.channel)
    if query.department:
        conditions.append(contact.department == query.department)
    if query.accepted_from is not None:
        conditions.append(Complaint.accepted_at >= query.accepted_from)
    if query.accepted_before is not None:
        conditions.append(Complaint.accepted_at < query.accepted_before)
    base = (
        select(Complaint, contact.department)
        .join(Instance, Instance.id == Complaint.instance_id)
        .outerjoin(contact, contact.instance_id == Complaint.instance_id)
        .where(*conditions, visible if visible is not None else true())
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    number = max(1, min(page, max(1, -(-total // size))))
    found = session.execute(
        base.order_by(Complaint.accepted_at.desc(), Complaint.id.desc())
        .limit(size)
        .offset((number - 1) * size)
    ).all()
    return Page(
        rows=[row[0] for row in found],
        departments={row[0].instance_id: row[1] for row in found},
        total=total,
        number=number,
        size=size,
    )


def _text_condition(text: str) -> ColumnElement[bool]:
    text = text.strip()
    if not text:
        return true()
    reasons = [
        Complaint.number.contains(text.upper(), autoescape=True),
        Complaint.customer_name.contains(text, autoescape=True),
        Complaint.customer_account == text,
    ]
    if sum(ch.isdigit() for ch in text) >= 5 and all(ch.isdigit() or ch in " -+" for ch in text):
        reasons.append(Complaint.customer_phone == records.normalise_phone(text))
    return or_(*reasons)
