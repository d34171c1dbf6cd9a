"""The inbox query: the open tasks a person may work on, most urgent first.

A person sees the tasks claimed by them and the unclaimed tasks of their groups.
Order: priority (urgent first), then the earliest due instant (tasks without a
deadline last), then the oldest. It reads only the derived task rows, joined to the
instance for its business key, so it costs the same however big the workflows are
(bench/inbox.py measures it at 100,000 open tasks).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.models import HumanTask, Instance

PAGE_SIZE = 50


@dataclass(frozen=True)
class InboxFilter:
    user: str
    groups: frozenset[str]
    group: str | None = None  # only this one of the person's groups
    overdue_only: bool = False
    search: str | None = None  # part of the business key (e.g. a complaint number)


@dataclass(frozen=True)
class InboxRow:
    task_id: str
    element_id: str
    name: str
    candidate_group: str | None
    assignee: str | None
    priority: int
    due_at: datetime | None
    created_at: datetime
    instance_id: int
    business_key: str | None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def inbox(
    session: Session, wanted: InboxFilter, *, now: datetime, page: int = 1, size: int = PAGE_SIZE
) -> InboxPage:
    page = max(1, page)
    query = _filtered(
        select(
            HumanTask.id,
            HumanTask.element_id,
            HumanTask.name,
            HumanTask.candidate_group,
            HumanTask.assignee,
            HumanTask.priority,
            HumanTask.due_at,
            HumanTask.created_at,
            HumanTask.instance_id,
            Instance.business_key,
        ).join(Instance, Instance.id == HumanTask.instance_id),
        wanted,
        now,
    )
    rows = session.execute(
        query.order_by(
            HumanTask.priority.desc(),
            HumanTask.due_at.is_(None),
            HumanTask.due_at,
            HumanTask.created_at,
            HumanTask.id,
        )
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    total = session.scalar(
        _filtered(
            select(func.count()).select_from(HumanTask).join(Instance, Instance.id == HumanTask.instance_id),
            wanted,
            now,
        )
    )
    return InboxPage([InboxRow(*row) for row in rows], total or 0, page, size)


def visible_to(user: str, groups: Iterable[str]):
    """The condition "this person may see the task": theirs, or unclaimed in their groups."""
    return or_(
        HumanTask.assignee == user,
        and_(HumanTask.assignee.is_(None), HumanTask.candidate_group.in_(list(groups))),
    )


def _filtered(query: Select, wanted: InboxFilter, now: datetime) -> Select:
    query = query.where(HumanTask.status == "open", visible_to(wanted.user, wanted.groups))
    if wanted.group:
        query = query.where(HumanTask.candidate_group == wanted.group)
    if wanted.overdue_only:
        query = query.where(HumanTask.due_at < now)
    if wanted.search:
        query = query.where(Instance.business_key.contains(wanted.search.strip(), autoescape=True))
    return query
