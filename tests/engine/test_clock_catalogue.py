"""The clock catalogue read from the real bundle's timers (issue 10, one clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.bundle import bundle_from_files, load_bundle
from engine.clock_catalogue import build_catalogue
from engine.validation import BundleInvalid, compile_bundle
from tasks.registry import REGISTRY
from tests.procedure.support import BUNDLE


def _catalogue(bundle):
    return build_catalogue(compile_bundle(bundle, REGISTRY).specs)


def test_every_deadline_timer_of_the_diagram_is_a_clock_with_its_guarded_element():
    catalogue = _catalogue(load_bundle(BUNDLE))
    assert {"L1", "L2", "L4", "R4", "T7"} <= set(catalogue.clocks())
    l2 = catalogue.of_clock("L2")[0]
    assert (l2.element_id, l2.guards, l2.kind, l2.interrupting, l2.figure) == (
        "timer_dispatch_overdue",
        "task_review_dispatch",
        "boundary",
        False,
        "dispatch_deadlines",
    )
    l1 = catalogue.of_clock("L1")[0]
    # L1: the timer start of an event subprocess guards that subprocess, held by the main process.
    assert (l1.kind, l1.guards, l1.guards_process, l1.figure) == (
        "event_start",
        "sub_first_reply",
        "complaint",
        "first_reply_deadline",
    )
    assert catalogue.figure("R4") == "reply_deadline"
    # The H6 re-assessment timer is a repeat, not a deadline: it carries no clock.
    assert "timer_impact_assessment" not in catalogue.timers


def test_an_empty_clock_property_is_refused_naming_the_element():
    files = dict(load_bundle(BUNDLE).files)
    diagram = files["review_dispatch.bpmn"]
    files["review_dispatch.bpmn"] = diagram.replace(b'name="clock" value="L2"', b'name="clock" value=" "')
    # Validation's deadline-timer-properties rule (engine/lint.py, issue 17) refuses it first.
    with pytest.raises((ValueError, BundleInvalid), match="timer_dispatch_overdue"):
        _catalogue(bundle_from_files(files))


_MAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_map" targetNamespace="t">
  <bpmn:process id="map" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call_path" calledElement="path"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call_path" />
    <bpmn:sequenceFlow id="f2" sourceRef="call_path" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>
"""

_PATH = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_path" targetNamespace="t">
  <bpmn:process id="path" isExecutable="true">
    <bpmn:startEvent id="ps"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="sub_work"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
      <bpmn:startEvent id="ss"><bpmn:outgoing>h1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="task_work"><bpmn:incoming>h1</bpmn:incoming>
        <bpmn:outgoing>h2</bpmn:outgoing></bpmn:userTask>
      <bpmn:boundaryEvent id="timer_inner" attachedToRef="task_work" cancelActivity="true">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="clock" value="X2" />
          <spiffworkflow:property name="figure" value="inner_deadline" />
        </spiffworkflow:properties></bpmn:extensionElements>
        <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
      </bpmn:boundaryEvent>
      <bpmn:endEvent id="se"><bpmn:incoming>h2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="h1" sourceRef="ss" targetRef="task_work" />
      <bpmn:sequenceFlow id="h2" sourceRef="task_work" targetRef="se" />
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="timer_outer" attachedToRef="sub_work" cancelActivity="false">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="clock" value="X1" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="pe"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="ps" targetRef="sub_work" />
    <bpmn:sequenceFlow id="g2" sourceRef="sub_work" targetRef="pe" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_timers_nested_in_a_called_process_and_its_subprocess_are_found():
    """The split diagrams (issue 10): a clock on a call activity's process and one inside an
    embedded subprocess of it are both read, each with the element it guards."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(_MAP, "map.bpmn")
    parser.add_bpmn_str(_PATH, "path.bpmn")
    specs = {"map": parser.get_spec("map"), **parser.get_subprocess_specs("map")}
    catalogue = build_catalogue(specs)
    outer, inner = catalogue.timer("timer_outer"), catalogue.timer("timer_inner")
    assert (outer.clock, outer.process_id, outer.guards, outer.interrupting, outer.figure) == (
        "X1",
        "path",
        "sub_work",
        False,
        None,
    )
    assert (inner.clock, inner.process_id, inner.guards, inner.interrupting, inner.figure) == (
        "X2",
        "sub_work",
        "task_work",
        True,
        "inner_deadline",
    )
    assert set(catalogue.clocks()) == {"X1", "X2"}
    # A boundary timer on a subprocess guards what runs inside it too (issue 10: L4 through the
    # E3 decision, T7 over the whole escalation path), so the task has both clocks.
    assert sorted(t.element_id for t in catalogue.guarded_by("task_work")) == ["timer_inner", "timer_outer"]
    assert [t.element_id for t in catalogue.guarded_by("sub_work")] == ["timer_outer"]
    assert catalogue.guarded_elements(outer) == {"sub_work", "ss", "task_work", "timer_inner", "se"}
    assert catalogue.guarded_elements(inner) == {"task_work"}
    assert {"ps", "sub_work", "task_work", "pe"} <= catalogue.contents["call_path"], "through the call"


def test_a_task_inside_a_guarded_subprocess_takes_the_subprocess_timers_due_too():
    """A deadline drawn around a stretch of the path (a boundary timer on a subprocess) is the due
    of each task in it, beside the task's own timers: the inbox shows the earlier of the two."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from engine.spiff import boundary_timers_of

    parser = SpiffBpmnParser()
    parser.add_bpmn_str(_PATH, "path.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("path"), parser.get_subprocess_specs("path"))
    workflow.do_engine_steps()
    [task] = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    dues = sorted(boundary_timers_of(task))
    assert len(dues) == 2
    # inner PT1H and outer PT2H, armed a few microseconds apart on the library's wall clock
    assert abs(dues[1] - dues[0] - timedelta(hours=1)) < timedelta(seconds=1)
