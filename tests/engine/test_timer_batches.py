"""Timers fire one instance per transaction, and lateness is taken when each firing commits (issue 16).

A burst of due timers used to fire up to 200 instances in one transaction: people's
commands waited for all of it, and every firing's lateness was the instant the batch
began. The projection hook below stands for slow work inside a firing (it moves the
injectable clock, or waits), which is how each test watches what is committed when.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.handlers import Projection
from engine.models import TimerFiring
from tests.engine.support import engine_test_handlers, valid_bundle


def waiting_for_approval(engine) -> int:
    """An instance whose approval task has a 2-hour interrupting boundary timer."""
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    return instance_id


def committed_firings(engine) -> int:
    """Firings another connection sees: only committed ones."""
    with engine.reader() as session:
        return session.scalar(select(func.count()).select_from(TimerFiring))


def engine_with_hook(make_engine, hook, timer_workers: int = 1):
    """One firing thread unless told otherwise, so the order of firings is the test's to watch."""
    handlers = engine_test_handlers()
    handlers.projection(hook)
    engine = make_engine(handlers, timer_workers=timer_workers)
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def test_each_instance_fires_and_commits_before_the_next_is_claimed(make_engine, clock):
    seen: list[int] = []

    def hook(projection: Projection) -> None:
        if projection.command == "timer":
            seen.append(committed_firings(engine))

    engine = engine_with_hook(make_engine, hook)
    for _ in range(3):
        waiting_for_approval(engine)
    clock.advance(timedelta(hours=2, seconds=1))
    assert engine.fire_due_timers() == 3
    assert seen == [0, 1, 2]  # in one batch transaction, every firing saw none committed


def test_lateness_is_taken_when_each_firing_commits_not_when_the_pass_began(make_engine, clock):
    def slow_firing(projection: Projection) -> None:
        if projection.command == "timer":
            clock.advance(timedelta(seconds=10))

    engine = engine_with_hook(make_engine, slow_firing)
    for _ in range(3):
        waiting_for_approval(engine)  # all three due at the same instant
    clock.advance(timedelta(hours=2, seconds=1))
    assert engine.fire_all_due() == 3
    with engine.reader() as session:
        rows = session.scalars(select(TimerFiring).order_by(TimerFiring.fired_at)).all()
    assert [row.lateness_s for row in rows] == [11.0, 21.0, 31.0]
    assert all(row.fired_at - row.due_at == timedelta(seconds=row.lateness_s) for row in rows)


def test_a_firing_that_raises_loses_only_its_own_instance(make_engine, clock):
    calls: list[int] = []

    def second_fails(projection: Projection) -> None:
        if projection.command == "timer":
            calls.append(projection.instance_id)
            if len(calls) == 2:
                raise ValueError("a database hiccup")

    engine = engine_with_hook(make_engine, second_fails)
    instances = [waiting_for_approval(engine) for _ in range(3)]
    clock.advance(timedelta(hours=2, seconds=1))
    with pytest.raises(ValueError):
        engine.fire_due_timers()
    assert committed_firings(engine) == 1  # the first instance's firing stays committed
    assert engine.fire_all_due() == 2
    assert sorted({calls[0], *calls[2:]}) == sorted(instances)


def test_people_commit_while_a_burst_is_half_fired(make_engine, db, clock):
    """PostgreSQL (several writers): a command on another instance does not wait for the burst."""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: commands always wait for any open write")
    reached, release = threading.Event(), threading.Event()
    firing_count: list[int] = []

    def hold_the_second_firing(projection: Projection) -> None:
        if projection.command == "timer":
            firing_count.append(projection.instance_id)
            if len(firing_count) == 2:
                reached.set()
                release.wait(30)

    engine = engine_with_hook(make_engine, hold_the_second_firing)
    for _ in range(3):
        waiting_for_approval(engine)
    clock.advance(timedelta(hours=2, seconds=1))
    burst = threading.Thread(target=engine.fire_all_due)
    burst.start()
    try:
        assert reached.wait(30)
        person = threading.Thread(target=waiting_for_approval, args=(engine,))
        person.start()
        person.join(10)
        assert not person.is_alive(), "a person's command waited for the timer burst"
    finally:
        release.set()
        burst.join(30)
    assert committed_firings(engine) == 3


def test_firing_threads_fire_each_due_timer_once(make_engine, clock):
    """On PostgreSQL several threads claim instances side by side (SQLite: one); none fires twice."""
    engine = engine_with_hook(make_engine, lambda projection: None, timer_workers=4)
    instances = [waiting_for_approval(engine) for _ in range(12)]
    clock.advance(timedelta(hours=2, seconds=1))
    assert engine.fire_due_timers(limit=5) == 5  # the limit holds across threads
    assert engine.fire_all_due() == 7
    with engine.reader() as session:
        fired = session.scalars(select(TimerFiring.instance_id)).all()
    assert sorted(fired) == sorted(instances)
