"""The inbox query: the open tasks a person may work on, most urgent first.

A person sees the tasks claimed by them and the unclaimed tasks of their groups.
Order: priority (urgent first), then the earliest due instant (tasks without a
deadline last), then the oldest. It reads only the derived task rows, joined to the
instance for its business key, so it costs the same however big the workflows are
(bench/inbox.py measures it at 100,000 open tasks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, select, union_all
from sqlalchemy.orm import Session

from engine.models import HumanTask, Instance

PAGE_SIZE = 50


@dataclass(frozen=True)
class InboxFilter:
    user: str
    groups: frozenset[str]
    group: str | None = None  # only this one of the person's groups
    overdue_only: bool = False
    search: str | None = None  # the start of a business key (e.g. a complaint number)
    # Only the instances this query selects (a SELECT of instance ids): how the domain
    # filters by what it knows (a customer's phone, a complaint type) without the engine
    # knowing those words.
    instances: Select | None = None


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
    """One page of a person's inbox.

    Each queue (the person's claimed tasks; each group's unclaimed tasks) is read
    off its index already in inbox order and cut at the end of the page, then the
    queues are merged: the cost follows the page, not the number of open tasks. A
    search by number goes the other way round: the few matching instances first.
    """
    page = max(1, page)
    if wanted.search:
        return _search_page(session, wanted, now, page, size)
    candidates = [_in_order(queue, page * size, wanted, now) for queue in _queues(wanted)]
    merged = union_all(*candidates).subquery()
    ordered = (
        select(*merged.c, Instance.business_key)
        .join(Instance, Instance.id == merged.c.instance_id)
        .order_by(merged.c.priority.desc(), merged.c.due_sort, merged.c.created_at, merged.c.id)
        .limit(size)
        .offset((page - 1) * size)
    )
    rows = [InboxRow(*row[:9], row.business_key) for row in session.execute(ordered)]
    total = sum(session.scalar(_count(queue, wanted, now)) or 0 for queue in _queues(wanted))
    return InboxPage(rows, total, page, size)


_COLUMNS = (
    HumanTask.id,
    HumanTask.element_id,
    HumanTask.name,
    HumanTask.candidate_group,
    HumanTask.assignee,
    HumanTask.priority,
    HumanTask.due_at,
    HumanTask.created_at,
    HumanTask.instance_id,
    # due_sort is due_at, or the end of time for tasks without a deadline (so they come last).
    HumanTask.due_sort,
)
_ORDER = (HumanTask.priority.desc(), HumanTask.due_sort, HumanTask.created_at, HumanTask.id)


def _queues(wanted: InboxFilter) -> list:
    """The person's claimed tasks, then each wanted group's unclaimed ones."""
    groups = [wanted.group] if wanted.group else sorted(wanted.groups)
    claimed = HumanTask.assignee == wanted.user
    unclaimed = [and_(HumanTask.candidate_group == group, HumanTask.assignee.is_(None)) for group in groups]
    return [claimed, *unclaimed]


def _refined(query: Select, wanted: InboxFilter, now: datetime) -> Select:
    query = query.where(HumanTask.status == "open")
    if wanted.group:
        query = query.where(HumanTask.candidate_group == wanted.group)
    if wanted.overdue_only:
        query = query.where(HumanTask.due_sort < now)  # in the index, unlike due_at
    if wanted.instances is not None:
        query = query.where(HumanTask.instance_id.in_(wanted.instances))
    return query


def _in_order(queue, depth: int, wanted: InboxFilter, now: datetime):
    in_order = _refined(select(*_COLUMNS).where(queue), wanted, now).order_by(*_ORDER).limit(depth)
    return in_order.subquery().select()


def _count(queue, wanted: InboxFilter, now: datetime) -> Select:
    return _refined(select(func.count()).select_from(HumanTask).where(queue), wanted, now)


SEARCH_LIMIT = 200  # instances a search by number looks at


def _search_page(session: Session, wanted: InboxFilter, now: datetime, page: int, size: int) -> InboxPage:
    """Tasks of the instances whose business key starts with the search text.

    The matching instances come first (a range on their key's index), then all their
    tasks by instance, filtered here: a handful of rows. Letting the database plan
    it as one query made it read every open task (SQLite has no statistics to know
    that the key range is the narrow side).
    """
    text = wanted.search.strip()
    keys = dict(
        session.execute(
            select(Instance.id, Instance.business_key)
            .where(Instance.business_key >= text, Instance.business_key < text + "\uffff")
            .limit(SEARCH_LIMIT)
        ).all()
    )
    found = session.execute(select(*_COLUMNS, HumanTask.status).where(HumanTask.instance_id.in_(keys))).all()
    groups = {wanted.group} if wanted.group else wanted.groups
    visible = [
        row
        for row in found
        if row.status == "open"
        and (row.assignee == wanted.user or (row.assignee is None and row.candidate_group in groups))
        and (not wanted.group or row.candidate_group == wanted.group)
        and (not wanted.overdue_only or row.due_sort < now)
    ]
    if wanted.instances is not None:
        allowed = set(session.scalars(wanted.instances.where(wanted.instances.selected_columns[0].in_(keys))))
        visible = [row for row in visible if row.instance_id in allowed]
    visible.sort(key=lambda row: (-row.priority, row.due_sort, row.created_at, row.id))
    start = (page - 1) * size
    rows = [InboxRow(*row[:9], keys[row.instance_id]) for row in visible[start : start + size]]
    return InboxPage(rows, len(visible), page, size)
