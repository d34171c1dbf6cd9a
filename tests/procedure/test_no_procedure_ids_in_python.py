"""Issue 10, one clock: no clock id (rule id) or element id of the procedure is spelled in the
domain's or the web's Python. What Python needs of an element is a property drawn on it
(``clock``, ``figure``, ``stops_clock``, ``stage``), read from the deployed diagrams.

The test reads every string literal of tasks/ and web/ (not the migrations) and fails on
one that is a clock id (``L2``, ``R4``...) or an element id of the bundle's diagrams. The
allow-list names each remaining place and why; shrink it, never grow it without a reason.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.procedure.support import BUNDLE

ROOT = Path(__file__).resolve().parents[2]
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
# The deadline convention's clock ids (issue 10), those drawn yet or not.
CONVENTION_CLOCKS = {"L1", "L2", "L3", "L4", "R4", "L6", "T7", "T1", "E3", "E4", "R3"}
# Ids of these BPMN elements are not flow elements a Python module could depend on.
NOT_FLOW = {"definitions", "process", "collaboration", "participant", "laneSet", "lane", "documentation"}

# file -> literals allowed there, with the reason. Everything else is refused.
ALLOWED: dict[str, tuple[set[str], str]] = {
    "tasks/demo.py": (set(), "a scripted demo user: it completes tasks by element id, as a person would"),
    "tasks/demo_plan.py": (set(), "the demo user's planned steps (from tasks/demo.py), by element id"),
    "tasks/settings_form.py": (
        {"L1", "L2", "L3", "L4", "R4", "L6", "T7", "T1", "E3", "E4", "R3"},
        "the modeler panel's choice of clock id for a timer being drawn: the convention's list of"
        " clock ids, in ONE place (CLOCK_ORDER, named by docs/modeler.md), which must offer clocks no"
        " diagram draws yet (issue 17); procedure.toml's [warnings] keeps only shares, not the list,"
        " and a config table for it would let a figure edit drop a clock the convention fixes",
    ),
    "tasks/returns.py": (
        {
            "R3",
            "T1",
            "task_approve_plan",
            "task_approve_written_reply",
            "task_handle_order",
            "task_reply_customer",
            "task_review_reply",
            "task_review_written_legal",
            "task_review_written_specialist",
            "task_revise_plan",
        },
        "TODO: which review returns work to which task (E5, T1, R3); to be drawn as properties on"
        " the review tasks (e.g. returns_to) like ``stage``",
    ),
}


def _element_ids() -> set[str]:
    """The ids of the bundle's flow elements (tasks, events, gateways, flows, subprocesses)."""
    found = set()
    for path in BUNDLE.glob("*.bpmn"):
        for element in ET.parse(path).getroot().iter():
            tag = element.tag
            name = tag[len(BPMN) :]
            flow = tag.startswith(BPMN) and name not in NOT_FLOW and not name.endswith("Definition")
            if flow and element.get("id"):
                found.add(element.get("id"))
    return found


def _clock_ids() -> set[str]:
    drawn = set()
    for path in BUNDLE.glob("*.bpmn"):
        for prop in ET.parse(path).getroot().iter(f"{SPIFF}property"):
            if prop.get("name") == "clock":
                drawn.add(prop.get("value"))
    return drawn | CONVENTION_CLOCKS


def _literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


def test_no_clock_id_or_element_id_is_spelled_in_the_domain_or_web_python():
    elements = _element_ids()
    clock_ids = _clock_ids()
    assert {"task_handle_order", "timer_dispatch_overdue", "call_handling"} <= elements, "ids were read"
    found = {}
    for folder in ("tasks", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            allowed, _ = ALLOWED.get(relative, (set(), ""))
            if relative in ("tasks/demo.py", "tasks/demo_plan.py"):
                continue
            spelled = {
                literal
                for literal in _literals(path)
                if (literal in clock_ids or literal in elements) and literal not in allowed
            }
            if spelled:
                found[relative] = sorted(spelled)
    assert found == {}, f"procedure ids spelled in Python (draw a property instead): {found}"


def test_the_allow_list_has_no_stale_entry():
    """An allowed literal that is no longer there must leave the list (it only shrinks)."""
    for relative, (allowed, _) in ALLOWED.items():
        stale = allowed - _literals(ROOT / relative)
        assert not stale, f"{relative}: remove {stale} from the allow-list"
