"""A clock's outcome from its timers alone (issue 10, one clock): no script measures it.

A small bundle (bundles/clocks): the map runs a path up to twice (two rounds); the path's
task ``task_work`` is guarded by a 2 h boundary timer (clock X1), may be sent back to it
from ``task_check`` (rework: the clock re-runs), and ``task_send`` carries
``stops_clock = X1`` (the clock stops when it is sent, after the guarded work). Simulated
time from Friday 2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from engine.bundle import load_bundle
from engine.clock_outcomes import MET, MISSED, RUNNING, clock_outcomes
from engine.handlers import HandlerRegistry
from engine.running_clocks import stop_instant
from engine.validation import BundleInvalid
from tests.engine.support import BUNDLES

H = timedelta(hours=1)


@pytest.fixture
def run(make_engine, clock):
    """An engine on the clocks bundle that keeps the readings every command hands its projections."""
    seen = []
    registry = HandlerRegistry()
    registry.projection(lambda projection: seen.append(projection.clocks))
    engine = make_engine(registry)
    engine.deploy(load_bundle(BUNDLES / "clocks"), actor="owner")
    instance_id = engine.start(actor="owner").instance_id

    def complete(element_id, data=None):
        [task] = [t for t in engine.open_tasks(instance_id) if t.element_id == element_id]
        engine.complete_task(task.id, actor="owner", data=data or {})

    def outcomes():
        return clock_outcomes(seen[-1])

    return complete, outcomes, engine


def test_the_guarded_task_done_before_due_is_met_at_that_instant(run, clock):
    complete, outcomes, engine = run
    start = clock.now()
    [x1] = outcomes().values()
    assert (x1.clock, x1.round, x1.status) == ("X1", 1, RUNNING)
    assert (x1.started_at, x1.due_at) == (start, start + 2 * H)
    clock.advance(H)
    complete("task_work")
    x1 = outcomes()[("X1", 1)]
    assert (x1.status, x1.stopped_at, x1.late_by_s, x1.fired) == (MET, start + H, 0.0, False)


def test_rework_re_runs_the_clock_and_the_last_completion_counts(run, clock):
    """Sent back to the guarded task: the span timer re-armed is a new wait of the same clock
    and round (2 h from the re-entry, no extension), and the second completion decides."""
    complete, outcomes, engine = run
    start = clock.now()
    clock.advance(H)
    complete("task_work")
    assert outcomes()[("X1", 1)].status == MET
    complete("task_check", {"redo": True})
    x1 = outcomes()[("X1", 1)]
    assert (x1.status, x1.started_at, x1.stopped_at) == (RUNNING, start + H, None)
    assert (x1.due_at, x1.first_due_at, x1.extensions) == (start + 3 * H, start + 3 * H, 0)
    clock.advance(3 * H)
    complete("task_work")
    x1 = outcomes()[("X1", 1)]
    assert (x1.status, x1.stopped_at, x1.late_by_s) == (MISSED, start + 4 * H, 3600.0)


def test_a_date_timer_re_armed_later_is_an_extension_and_keeps_its_first_due(tmp_path, make_engine, clock):
    """E3-like: the due the process carries moved later before the guarded task is entered
    again: one clock, extended once, its first due and start kept (E5-like: re-armed on the
    same carried due, nothing is extended)."""
    target = tmp_path / "clocks"
    shutil.copytree(BUNDLES / "clocks", target)
    path = target / "path.bpmn"
    path.write_text(
        path.read_text().replace(
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT2H"</bpmn:timeDuration>',
            '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">work_due</bpmn:timeDate>',
        )
    )
    seen = []
    registry = HandlerRegistry()
    registry.projection(lambda projection: seen.append(projection.clocks))
    engine = make_engine(registry)
    engine.deploy(load_bundle(target), actor="owner")
    start = clock.now()
    instance_id = engine.start(actor="owner", data={"work_due": (start + 2 * H).isoformat()}).instance_id

    def complete(element_id, data=None):
        [task] = [t for t in engine.open_tasks(instance_id) if t.element_id == element_id]
        engine.complete_task(task.id, actor="owner", data=data or {})

    clock.advance(H)
    complete("task_work")
    complete("task_check", {"redo": True})  # refused extension: the same due re-armed
    x1 = clock_outcomes(seen[-1])[("X1", 1)]
    assert (x1.status, x1.started_at, x1.due_at, x1.extensions) == (RUNNING, start, start + 2 * H, 0)
    complete("task_work")
    complete("task_check", {"redo": True, "work_due": (start + 5 * H).isoformat()})
    x1 = clock_outcomes(seen[-1])[("X1", 1)]
    assert (x1.status, x1.started_at, x1.due_at) == (RUNNING, start, start + 5 * H)
    assert (x1.first_due_at, x1.extensions) == (start + 2 * H, 1)
    clock.advance(H)
    complete("task_work")
    x1 = clock_outcomes(seen[-1])[("X1", 1)]
    assert (x1.status, x1.stopped_at, x1.late_by_s) == (MET, start + 2 * H, 0.0)


def test_a_starts_at_property_dates_the_clock_from_the_instant_the_data_carries(tmp_path, make_engine, clock):
    """A clock that started before its timer was armed (R4-like: from an earlier submission the
    review then accepted): ``starts_at`` names the data variable holding the start; a value that
    is not an instant (or none) falls back to the arming."""
    target = tmp_path / "clocks"
    shutil.copytree(BUNDLES / "clocks", target)
    path = target / "path.bpmn"
    path.write_text(
        path.read_text()
        .replace(
            '<spiffworkflow:property name="clock" value="X1" />',
            '<spiffworkflow:property name="clock" value="X1" />'
            '<spiffworkflow:property name="starts_at" value="submitted_at" />',
        )
        .replace(
            '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT2H"</bpmn:timeDuration>',
            '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">work_due</bpmn:timeDate>',
        )
    )
    seen = []
    registry = HandlerRegistry()
    registry.projection(lambda projection: seen.append(projection.clocks))
    engine = make_engine(registry)
    engine.deploy(load_bundle(target), actor="owner")
    start = clock.now()
    data = {"work_due": (start + 2 * H).isoformat(), "submitted_at": (start - H).isoformat()}
    engine.start(actor="owner", data=data)
    x1 = clock_outcomes(seen[-1])[("X1", 1)]
    assert (x1.status, x1.started_at, x1.due_at) == (RUNNING, start - H, start + 2 * H)

    data.update(submitted_at="not an instant")
    engine.start(actor="owner", data=data)
    assert clock_outcomes(seen[-1])[("X1", 1)].started_at == start, "no instant: the arming"


def test_a_stops_clock_element_moves_the_stop_to_its_completion(run, clock):
    """The rule's stop is later than the guarded task (a reply measured when it is sent)."""
    complete, outcomes, engine = run
    start = clock.now()
    clock.advance(H)
    complete("task_work")
    complete("task_check", {"redo": False})
    assert outcomes()[("X1", 1)].stopped_at == start + H
    clock.advance(2 * H)
    complete("task_send")
    x1 = outcomes()[("X1", 1)]
    assert (x1.status, x1.stopped_at, x1.late_by_s) == (MISSED, start + 3 * H, 3600.0)


def test_the_path_run_again_from_the_map_is_a_new_round(run, clock):
    """V1-like: a second run of the path measures the clock anew; round 1 keeps its outcome."""
    complete, outcomes, engine = run
    start = clock.now()
    clock.advance(H)
    complete("task_work")
    complete("task_check", {"redo": False})
    complete("task_send")
    complete("task_visit", {"again": True})
    found = outcomes()
    assert set(found) == {("X1", 1), ("X1", 2)}
    assert (found[("X1", 1)].status, found[("X1", 1)].stopped_at) == (MET, start + H)
    second = found[("X1", 2)]
    assert (second.status, second.started_at, second.due_at) == (RUNNING, start + H, start + 3 * H)


def test_a_fired_timer_leaves_the_clock_running_overdue_until_the_work_is_done(run, clock):
    complete, outcomes, engine = run
    start = clock.now()
    clock.advance(2 * H + timedelta(seconds=1))
    assert engine.fire_all_due() == 1
    x1 = outcomes()[("X1", 1)]
    assert (x1.status, x1.fired, x1.stopped_at, x1.due_at) == (RUNNING, True, None, start + 2 * H)
    complete("task_work")
    x1 = outcomes()[("X1", 1)]
    assert (x1.status, x1.late_by_s) == (MISSED, 1.0)
    assert x1.stopped_at == start + 2 * H + timedelta(seconds=1)


def test_a_stops_clock_naming_no_drawn_clock_is_refused_naming_the_element(tmp_path, make_engine):
    target = tmp_path / "clocks"
    shutil.copytree(BUNDLES / "clocks", target)
    path = target / "path.bpmn"
    text = path.read_text().replace('name="stops_clock" value="X1"', 'name="stops_clock" value="X9"')
    path.write_text(text)
    engine = make_engine(HandlerRegistry())
    with pytest.raises(BundleInvalid) as refused:
        engine.deploy(load_bundle(target), actor="owner")
    assert "path.bpmn" in str(refused.value) and "[task_send] stops_clock 'X9'" in str(refused.value)


def test_an_unstamped_completion_from_before_the_upgrade_keeps_its_own_instant(clock):
    """A guarded task completed before stops were stamped (an instance running at the upgrade)
    takes the instant SpiffWorkflow recorded; one completed in this command takes ``now``."""
    now, wall = clock.now(), 1_800_000_000.0
    assert stop_instant(wall - 2, now, wall) == now, "completed in this command"
    two_days_ago = stop_instant(wall - 2 * 86400, now, wall)
    assert two_days_ago == datetime.fromtimestamp(wall - 2 * 86400, UTC)
