"""Idempotency keys kept in a command's transaction, start forms, and claims held again."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import idempotency
from engine.errors import InvalidInput
from engine.idempotency import Answer, KeyedRequest, KeyInUse, KeyReused
from engine.models import AuditEvent, HumanTask, Instance
from engine.service import FirstTask, Outcome
from tests.engine.support import engine_test_handlers, valid_bundle

REQUEST = KeyedRequest("alice", "POST /things", "key-1", idempotency.fingerprint({"amount": 1}))


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def count(engine, model) -> int:
    with engine.reader() as session:
        return session.scalar(select(func.count()).select_from(model))


def remembering(engine, request: KeyedRequest):
    def record(outcome: Outcome) -> None:
        answer = Answer(201, {"instance_id": outcome.result.instance_id})
        idempotency.remember(outcome.connection, request, answer, now=engine.clock.now())

    return record


def test_two_commands_with_one_key_at_once_do_the_work_once(make_engine):
    handlers = engine_test_handlers()
    nodes = [make_engine(handlers, node=f"node-{n}") for n in (1, 2)]
    nodes[0].deploy(valid_bundle(), actor="admin")
    # Both run at once; whichever keeps the key second (waiting on the first's commit for the
    # unique key, or starting after it) is rolled back whole. Neither looked the key up first.
    outcomes: list[object] = []

    def start(node):
        try:
            node.start(actor="alice", record=remembering(node, REQUEST))
            outcomes.append("started")
        except KeyInUse as taken:
            outcomes.append(taken)

    threads = [threading.Thread(target=start, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("started") == 1 and any(isinstance(o, KeyInUse) for o in outcomes)
    assert count(nodes[0], Instance) == 1
    with nodes[0].reader() as session:
        kept = idempotency.find(session.connection(), REQUEST, now=nodes[0].clock.now())
    assert kept is not None and kept.status == 201


def test_a_key_answers_its_request_refuses_another_and_expires(engine, clock):
    engine.start(actor="alice", record=remembering(engine, REQUEST))
    other = KeyedRequest(REQUEST.owner, REQUEST.endpoint, REQUEST.key, idempotency.fingerprint({"amount": 2}))
    with engine.reader() as session:
        assert idempotency.find(session.connection(), REQUEST, now=clock.now()) is not None
        with pytest.raises(KeyReused):
            idempotency.find(session.connection(), other, now=clock.now())
    clock.advance(idempotency.TTL)
    with engine.reader() as session:
        assert idempotency.find(session.connection(), other, now=clock.now()) is None
    engine.start(actor="alice", record=remembering(engine, other))  # the expired key is taken anew
    assert count(engine, Instance) == 2
    clock.advance(timedelta(hours=25))
    with engine.writer() as session, session.begin():
        assert idempotency.forget_expired(session.connection(), now=clock.now()) == 1


def test_a_refused_start_form_leaves_no_instance(engine):
    with pytest.raises(InvalidInput):
        engine.start(
            actor="alice", first_task=FirstTask("task_enter", {"amount": 2_000_000, "description": "x"})
        )
    assert count(engine, Instance) == count(engine, HumanTask) == count(engine, AuditEvent) - 1 == 0


def test_a_start_form_is_completed_in_the_start(engine):
    result = engine.start(
        actor="alice", first_task=FirstTask("task_enter", {"amount": 50, "description": "pens"})
    )
    with engine.reader() as session:
        commands = list(session.scalars(select(AuditEvent.command).order_by(AuditEvent.id)))
    assert commands == ["deploy", "start", "complete"]
    assert "task_enter" not in {task.element_id for task in engine.open_tasks(result.instance_id)}


def test_claiming_a_task_one_holds_changes_nothing(engine):
    [task] = engine.open_tasks(engine.start(actor="alice").instance_id)
    claimed = engine.claim(task.id, actor="bob", actor_groups=["clerk"])
    events = count(engine, AuditEvent)
    again = engine.claim(task.id, actor="bob", actor_groups=["clerk"])
    assert again.version == claimed.version and count(engine, AuditEvent) == events
    assert engine.task(task.id).assignee == "bob"
