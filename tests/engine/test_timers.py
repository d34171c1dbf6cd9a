"""Timers: firing on the clock, after a restart, once with several nodes, lateness recorded."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.models import TimerFiring
from engine.scheduler import TimerScheduler
from tests.engine.support import edited_bundle, engine_test_handlers, valid_bundle


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def waiting_for_approval(engine, version: int | None = None) -> int:
    """An instance whose approval task has a 2-hour interrupting boundary timer."""
    instance_id = engine.start(actor="alice", version=version).instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    return instance_id


def open_elements(engine, instance_id) -> list[str]:
    return [task.element_id for task in engine.open_tasks(instance_id)]


def firings(engine) -> list[TimerFiring]:
    with engine.reader() as session:
        return list(session.scalars(select(TimerFiring).order_by(TimerFiring.id)))


def test_timer_does_not_fire_on_its_due_instant_only_after(engine, clock):
    instance_id = waiting_for_approval(engine)
    due = engine.instance(instance_id).next_timer_at
    clock.set(due)
    assert engine.fire_all_due() == 0
    assert open_elements(engine, instance_id) == ["task_approve"]
    clock.advance(timedelta(milliseconds=1))
    assert engine.fire_all_due() == 1
    assert open_elements(engine, instance_id) == ["task_escalate"]


def test_firing_records_lateness_and_cancels_the_interrupted_task(engine, clock):
    instance_id = waiting_for_approval(engine)
    approve_id = engine.open_tasks(instance_id)[0].id
    due = engine.instance(instance_id).next_timer_at
    clock.set(due + timedelta(seconds=3))
    engine.fire_all_due()
    [fired] = firings(engine)
    assert (fired.element_id, fired.due_at, fired.lateness_s) == (
        "timer_approve_deadline",
        due,
        3.0,
    )
    assert engine.task(approve_id).status == "cancelled"
    assert engine.instance(instance_id).next_timer_at is None


def test_completing_before_the_deadline_removes_the_timer(engine, clock):
    instance_id = waiting_for_approval(engine)
    [approve] = engine.open_tasks(instance_id)
    engine.complete_task(approve.id, actor="bob", data={"approved": True})
    assert engine.instance(instance_id).status == "completed"
    clock.advance(timedelta(hours=3))
    assert engine.fire_all_due() == 0
    assert firings(engine) == []


def test_timers_that_fell_due_while_down_fire_at_start_up(make_engine, engine, clock):
    instance_id = waiting_for_approval(engine)
    clock.advance(timedelta(hours=5))  # the server was down
    restarted = make_engine(engine_test_handlers())  # a new node: empty caches
    scheduler = TimerScheduler(restarted, sweep_seconds=3600)
    try:
        scheduler.start()  # returns at once: the overdue timer fires in the background
        assert scheduler.caught_up.wait(timeout=60)
    finally:
        scheduler.shutdown()
    assert open_elements(restarted, instance_id) == ["task_escalate"]
    [fired] = firings(restarted)
    assert fired.lateness_s == pytest.approx(3 * 3600)


def test_a_commit_with_an_earlier_timer_moves_the_wake_up_forward(engine, clock, tmp_path):
    """The wake-up job sits at the earliest due instant; an earlier timer moves it, a later one not."""
    clock.set(datetime(2030, 1, 7, 9, 0, tzinfo=UTC))  # in the future of the real clock APScheduler uses
    engine.deploy(edited_bundle(tmp_path, "main.bpmn", '"PT2H"', '"PT30M"'), actor="admin")
    scheduler = TimerScheduler(engine, sweep_seconds=3600)
    scheduler.start()
    try:
        assert scheduler.caught_up.wait(timeout=60)
        assert scheduler.next_run("timers:wake") is None  # nothing to wait for yet
        waiting_for_approval(engine, version=1)
        assert wake_time(scheduler) == clock.now() + timedelta(hours=2, milliseconds=1)
        waiting_for_approval(engine, version=2)
        assert wake_time(scheduler) == clock.now() + timedelta(minutes=30, milliseconds=1)
        waiting_for_approval(engine, version=1)
        assert wake_time(scheduler) == clock.now() + timedelta(minutes=30, milliseconds=1)
    finally:
        scheduler.shutdown()


def wake_time(scheduler: TimerScheduler) -> datetime:
    return scheduler.next_run("timers:wake")


def test_two_nodes_fire_each_timer_exactly_once(make_engine, engine, clock):
    instances = [waiting_for_approval(engine) for _ in range(12)]
    clock.advance(timedelta(hours=2, seconds=1))
    nodes = [make_engine(engine_test_handlers(), node=f"node-{n}") for n in (1, 2)]
    schedulers = {node.node: TimerScheduler(node) for node in nodes}
    start = threading.Barrier(len(nodes))
    fired_by_node = {}

    def run(node):
        start.wait()
        fired_by_node[node.node] = schedulers[node.node].run_due()

    threads = [threading.Thread(target=run, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired_by_node.values()) == len(instances)
    rows = firings(engine)
    assert sorted(row.instance_id for row in rows) == sorted(instances)
    with engine.reader() as session:
        assert session.scalar(select(func.count(func.distinct(TimerFiring.task_id)))) == len(instances)
    for instance_id in instances:
        assert open_elements(engine, instance_id) == ["task_escalate"]


def test_a_failing_firing_is_rolled_back_whole_and_its_instance_parked_beside_the_others(
    make_engine, clock, tmp_path
):
    """No savepoint per firing (issue 16): the failed firing leaves nothing, its instance is parked
    in a transaction of its own, the other due instance still fires, and the parked one is not retried."""
    from engine.models import AuditEvent, Instance

    engine = make_engine(engine_test_handlers(echo_fails=True))
    engine.deploy(valid_bundle(), actor="admin")
    failing = edited_bundle(
        tmp_path,
        "main.bpmn",
        'sourceRef="timer_approve_deadline" targetRef="task_escalate"',
        'sourceRef="timer_approve_deadline" targetRef="service_notify"',
    )
    engine.deploy(failing, actor="admin")
    healthy = waiting_for_approval(engine, version=1)
    broken = waiting_for_approval(engine, version=2)
    clock.set(engine.instance(broken).next_timer_at + timedelta(seconds=1))

    assert engine.fire_all_due() == 1
    assert open_elements(engine, healthy) == ["task_escalate"]
    parked = engine.instance(broken)
    assert (parked.status, parked.next_timer_at) == ("error", None)
    assert open_elements(engine, broken) == ["task_approve"]  # the firing's own writes were rolled back
    assert [fired.instance_id for fired in firings(engine)] == [healthy]
    with engine.reader() as session:
        commands = list(
            session.scalars(
                select(AuditEvent.command).where(AuditEvent.instance_id == broken).order_by(AuditEvent.seq)
            )
        )
        assert commands[-1] == "timer_failed" and "timer" not in commands
        assert session.get(Instance, broken).version == parked.version
    clock.advance(timedelta(hours=1))
    assert engine.fire_all_due() == 0  # parked: not retried in a loop
