"""The clock catalogue read from the real bundle's timers (issue 10, one clock)."""

from __future__ import annotations

import pytest

from engine.bundle import bundle_from_files, load_bundle
from engine.clock_catalogue import build_catalogue
from engine.validation import compile_bundle
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
    diagram = files["complaint.bpmn"]
    files["complaint.bpmn"] = diagram.replace(b'name="clock" value="L2"', b'name="clock" value=" "')
    with pytest.raises(ValueError, match="timer_dispatch_overdue"):
        _catalogue(bundle_from_files(files))
