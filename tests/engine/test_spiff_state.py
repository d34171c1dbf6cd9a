"""The fast instance dump writes exactly what SpiffWorkflow's serializer writes, at every step."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bench.diagrams import complaint_sized, write_bundle
from engine.bundle import load_bundle
from engine.clock import FrozenClock
from engine.expressions import expression_globals
from engine.spiff import (
    ScriptEngine,
    all_workflows,
    clock_in_use,
    new_workflow,
    ready_human_tasks,
)
from engine.spiff_state import _convert_task, _task_dict, dump_state, load_state, plain_dump
from engine.validation import compile_bundle
from tests.engine.support import BUNDLES, VALID, engine_test_handlers


def compiled(path, handlers):
    bundle = compile_bundle(load_bundle(path), handlers)
    engine = ScriptEngine(expression_globals(bundle.calendars), handlers, bundle.config)
    return bundle, engine


def assert_same_as_spiff(workflow):
    assert json.loads(dump_state(workflow)) == json.loads(plain_dump(workflow))
    for wf in all_workflows(workflow):  # the tasks dumped without the library's converter: same keys, order
        for task in wf.tasks.values():
            assert list(_task_dict(task).items()) == list(_convert_task(task).items())


def run_checking_every_step(workflow, answers):
    assert_same_as_spiff(workflow)
    while tasks := ready_human_tasks(workflow):
        for task in tasks:
            task.data.update(answers(task))
            assert_same_as_spiff(workflow)  # a READY task's data changed in place
            task.run()
            workflow.do_engine_steps()
            assert_same_as_spiff(workflow)
            assert_same_as_spiff(workflow)  # second time from the memo


def test_bench_diagram_with_boundary_timers(tmp_path, clock):
    path = write_bundle(tmp_path / "bench", "bench.bpmn", complaint_sized(4), "bench_process")
    bundle, engine = compiled(path, engine_test_handlers())
    with clock_in_use(clock):
        workflow = new_workflow(bundle.specs["bench_process"], {}, engine)
        workflow.do_engine_steps()
        run_checking_every_step(workflow, lambda task: {"note": task.task_spec.bpmn_id})
    assert workflow.completed


@pytest.mark.parametrize("amount", [50, 500])
def test_valid_bundle_with_call_activity_and_timer(clock, amount):
    bundle, engine = compiled(VALID, engine_test_handlers())
    answers = {
        "task_enter": {"amount": amount, "description": "chair"},
        "task_approve": {"approved": True},
        "task_escalate": {"decision": "approve"},
    }
    with clock_in_use(clock):
        workflow = new_workflow(
            bundle.specs["approval_process"], bundle.subprocess_specs("approval_process"), engine
        )
        workflow.do_engine_steps()
        run_checking_every_step(workflow, lambda task: answers[task.task_spec.bpmn_id])
    assert workflow.completed


def test_timer_firing_and_reload_round_trip(clock: FrozenClock):
    bundle, engine = compiled(VALID, engine_test_handlers())
    specs = bundle.subprocess_specs("approval_process")
    with clock_in_use(clock):
        workflow = new_workflow(bundle.specs["approval_process"], specs, engine)
        workflow.do_engine_steps()
        [enter] = ready_human_tasks(workflow)
        enter.data.update({"amount": 500, "description": "desk"})
        enter.run()
        workflow.do_engine_steps()
        dumped = dump_state(workflow)
        clock.advance(timedelta(hours=3))
        workflow.refresh_timers()
        workflow.do_engine_steps()
        assert_same_as_spiff(workflow)
        reloaded = load_state(dumped, bundle.specs["approval_process"], specs, engine)
        assert dump_state(reloaded) == dumped
        assert [t.task_spec.bpmn_id for t in ready_human_tasks(workflow)] == ["task_escalate"]


def test_event_subprocess_with_repeated_messages(clock):
    from SpiffWorkflow.bpmn.util.event import BpmnEvent
    from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

    bundle, engine = compiled(BUNDLES / "messages", engine_test_handlers())
    with clock_in_use(clock):
        workflow = new_workflow(
            bundle.specs["chase_process"], bundle.subprocess_specs("chase_process"), engine
        )
        workflow.do_engine_steps()
        for note in ("one", "two"):
            workflow.send_event(BpmnEvent(MessageEventDefinition("reminder"), payload={"note": note}))
            workflow.do_engine_steps()
            assert_same_as_spiff(workflow)
        run_checking_every_step(workflow, lambda task: {"done": True, "seen": True})
