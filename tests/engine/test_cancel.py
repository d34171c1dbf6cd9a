"""engine.cancel: a running instance ended without running it (one started by mistake).

The caller's rule decides (``check``); the engine cancels in one transaction: the row leaves
the timer queue and takes no more commands, open tasks close as cancelled, one audit event.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import audit, cancel
from engine.errors import Conflict
from engine.models import AuditEvent, HumanTask
from tests.engine.support import engine_test_handlers, valid_bundle


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def allow(connection, instance, open_tasks) -> None:
    assert [task.status for task in open_tasks] == ["open"] * len(open_tasks)


def refuse(connection, instance, open_tasks) -> None:
    raise Conflict("not this one")


def waiting_with_a_timer(engine) -> int:
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    return instance_id


def test_a_cancelled_instance_leaves_the_queues_and_takes_no_commands(engine, clock):
    instance_id = waiting_with_a_timer(engine)
    [task] = engine.open_tasks(instance_id)
    cancel.cancel_instance(engine, instance_id, actor="alice", detail={"reason": "by mistake"}, check=allow)
    instance = engine.instance(instance_id)
    assert (instance.status, instance.next_timer_at) == ("cancelled", None)
    assert instance.completed_at == clock.now()
    assert engine.open_tasks(instance_id) == []
    with engine.reader() as session:
        assert session.get(HumanTask, task.id).status == "cancelled"
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.command == "cancel")
        ).all()
    assert event.actor == "alice"
    assert json.loads(event.detail) == {"reason": "by mistake", "closed_tasks": [task.id]}
    with pytest.raises(Conflict):
        engine.complete_task(task.id, actor="alice", data={"approved": True})
    clock.advance(timedelta(days=3))
    assert engine.fire_due_timers() == 0, "its timer never fires"
    with pytest.raises(Conflict):
        cancel.cancel_instance(engine, instance_id, actor="alice", detail={}, check=allow)


def test_the_callers_rule_refuses_and_nothing_changes(engine):
    instance_id = waiting_with_a_timer(engine)
    with pytest.raises(Conflict, match="not this one"):
        cancel.cancel_instance(engine, instance_id, actor="bob", detail={}, check=refuse)
    assert engine.instance(instance_id).status == "running"
    assert len(engine.open_tasks(instance_id)) == 1


def test_the_audit_chain_stays_intact(engine):
    instance_id = waiting_with_a_timer(engine)
    cancel.cancel_instance(engine, instance_id, actor="alice", detail={}, check=allow)
    with engine.reader() as session:
        assert audit.verify(session) == []
