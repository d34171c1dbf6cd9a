"""The inbox query: who sees which open task, in which order, with filters and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.inbox import InboxFilter, inbox
from tests.engine.support import engine_test_handlers, valid_bundle


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def approval(engine, clock, key: str, amount: int) -> str:
    """An approval task (manager group) due two hours after now; urgent above 1000."""
    instance_id = engine.start(actor="clerk", business_key=key).instance_id
    [enter] = engine.open_tasks(instance_id)
    result = engine.complete_task(enter.id, actor="clerk", data={"amount": amount, "description": key})
    [task_id] = result.opened_task_ids
    return task_id


def keys(engine, clock, **wanted) -> list[str]:
    wanted.setdefault("user", "mia")
    wanted.setdefault("groups", frozenset({"manager"}))
    page = wanted.pop("page", 1)
    size = wanted.pop("size", 50)
    with engine.reader() as session:
        result = inbox(session, InboxFilter(**wanted), now=clock.now(), page=page, size=size)
    return [row.business_key for row in result.rows]


def test_urgent_first_then_the_earliest_due_then_tasks_without_a_deadline(engine, clock):
    approval(engine, clock, "A-late", 500)
    clock.advance(timedelta(minutes=10))
    approval(engine, clock, "B-urgent", 5000)
    engine.start(actor="clerk", business_key="C-no-deadline")  # task_enter: clerk group, no timer
    both = frozenset({"manager", "clerk"})
    assert keys(engine, clock, groups=both) == ["B-urgent", "A-late", "C-no-deadline"]


def test_a_task_claimed_by_someone_else_leaves_the_inbox(engine, clock):
    task_id = approval(engine, clock, "A", 500)
    clock.advance(timedelta(minutes=1))
    approval(engine, clock, "B", 500)
    engine.claim(task_id, actor="max", actor_groups=["manager"])
    assert keys(engine, clock) == ["B"]
    assert keys(engine, clock, user="max") == ["A", "B"]
    assert keys(engine, clock, groups=frozenset({"clerk"})) == []


def test_filters_overdue_group_and_number(engine, clock):
    approval(engine, clock, "TS-100", 500)
    clock.advance(timedelta(hours=1))
    approval(engine, clock, "TS-200", 500)
    clock.advance(timedelta(hours=1, minutes=30))  # TS-100 is overdue, TS-200 not yet
    assert keys(engine, clock, overdue_only=True) == ["TS-100"]
    assert keys(engine, clock, search="TS-2") == ["TS-200"]
    assert keys(engine, clock, search="100") == []  # the start of the number
    assert keys(engine, clock, group="manager") == ["TS-100", "TS-200"]


def test_pages_follow_the_order_and_count_everything(engine, clock):
    for n in range(5):
        approval(engine, clock, f"K-{n}", 500)
        clock.advance(timedelta(minutes=1))
    assert keys(engine, clock, size=2, page=1) == ["K-0", "K-1"]
    assert keys(engine, clock, size=2, page=3) == ["K-4"]
    with engine.reader() as session:
        page = inbox(session, InboxFilter("mia", frozenset({"manager"})), now=clock.now(), size=2)
    assert (page.total, page.pages) == (5, 3)


def test_the_domain_narrows_the_inbox_by_instance(engine, clock):
    from sqlalchemy import select

    from engine.models import Instance

    for key in ("TS-1", "TS-2", "TS-3"):
        approval(engine, clock, key, 500)
        clock.advance(timedelta(minutes=1))
    odd = select(Instance.id).where(Instance.business_key.in_(["TS-1", "TS-3"]))
    assert keys(engine, clock, instances=odd) == ["TS-1", "TS-3"]
    assert keys(engine, clock, instances=odd, search="TS-2") == []
    assert keys(engine, clock, instances=odd, search="TS-3") == ["TS-3"]
