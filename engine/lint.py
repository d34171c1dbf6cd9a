"""The modeling rules the editor lints while the owner draws, run again by the server at save.

The same rule set exists twice, with the same ids: here on the lxml tree (validation calls
:func:`lint_document` for every diagram), and as a bpmnlint plugin in the browser
(``web/static/src/lint-rules.js``), so what the canvas marks while drawing is what a save
reports, on the same element. Where validation already says the same thing (a user task
without a form or a lane, a deadline timer without its figure) the message is word for word
the one validation uses, so a save lists it once.

Rules (ids shared with the plugin):

``user-task-form``
    a user task names its form (``formJsonSchemaFilename``).
``user-task-lane``
    in a process with lanes, every user or manual task is in one (or inside a subprocess
    that is), or nobody would be offered it.
``deadline-timer-properties``
    a deadline timer carries both ``clock`` (the rule id) and ``figure`` (the config key).
``deadline-timer-placement``
    a deadline timer is a boundary timer on what it guards, or the timer start of an event
    subprocess guarding a whole path: a timer in the flow or at a process start guards nothing.
``gateway-conditions``
    every outgoing flow of an exclusive or inclusive gateway with several has a condition,
    except the gateway's default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

RULES: dict[str, str] = {
    "user-task-form": "a user task names its form",
    "user-task-lane": "a user or manual task is in a lane",
    "deadline-timer-properties": "a deadline timer carries clock and figure",
    "deadline-timer-placement": "a deadline is a boundary timer or an event subprocess's timer start",
    "gateway-conditions": "a gateway's outgoing flows have conditions, except the default",
}

FORM_MESSAGE = (
    "user task has no form: add the spiffworkflow property formJsonSchemaFilename naming a file in forms/"
)


@dataclass(frozen=True)
class LintProblem:
    rule: str
    element: Any  # the lxml element the problem is pinned to
    message: str

    @property
    def element_id(self) -> str | None:
        return self.element.get("id")


def lint_document(root: Any) -> list[LintProblem]:
    """Every rule's problems in one parsed diagram, in document order per rule."""
    return [
        *_user_task_form(root),
        *_user_task_lane(root),
        *_deadline_timers(root),
        *_gateway_conditions(root),
    ]


def _xpath(node: Any, path: str) -> list[Any]:
    return node.xpath(path, namespaces=_NS)


def _properties(element: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in _xpath(element, "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"):
        found.setdefault(prop.get("name"), (prop.get("value") or "").strip())
    return found


def _kind(element: Any) -> str:
    local = etree.QName(element).localname
    return "".join(" " + char.lower() if char.isupper() else char for char in local).strip()


def _user_task_form(root: Any) -> Iterator[LintProblem]:
    for task in _xpath(root, "//bpmn:userTask"):
        if not _properties(task).get("formJsonSchemaFilename"):
            yield LintProblem("user-task-form", task, FORM_MESSAGE)


def _user_task_lane(root: Any) -> Iterator[LintProblem]:
    for process in _xpath(root, "//bpmn:process"):
        if not _xpath(process, ".//bpmn:lane"):
            continue
        in_lanes = {ref.text for ref in _xpath(process, ".//bpmn:lane/bpmn:flowNodeRef")}
        for task in _xpath(process, ".//bpmn:userTask | .//bpmn:manualTask"):
            enclosing = [task, *task.iterancestors()]
            if not any(element.get("id") in in_lanes for element in enclosing):
                message = f"{_kind(task)} is in no lane, so nobody would be offered it"
                yield LintProblem("user-task-lane", task, message)


def _deadline_timers(root: Any) -> Iterator[LintProblem]:
    timers = _xpath(
        root,
        "//*[(self::bpmn:boundaryEvent or self::bpmn:startEvent or self::bpmn:intermediateCatchEvent)"
        " and bpmn:timerEventDefinition]",
    )
    for event in timers:
        props = _properties(event)
        clock, figure = props.get("clock"), props.get("figure")
        if not clock and not figure:
            continue  # not a deadline (a reminder, a wait)
        if clock and not figure:
            yield LintProblem(
                "deadline-timer-properties",
                event,
                f"deadline timer with clock '{clock}' has no 'figure' property "
                "(the procedure.toml key whose figure it shows)",
            )
        elif figure and not clock:
            yield LintProblem(
                "deadline-timer-properties",
                event,
                f"deadline timer with figure '{figure}' has no 'clock' property (the rule id it measures)",
            )
        local = etree.QName(event).localname
        parent = event.getparent()
        in_event_subprocess = (
            local == "startEvent"
            and etree.QName(parent).localname == "subProcess"
            and parent.get("triggeredByEvent") == "true"
        )
        if local != "boundaryEvent" and not in_event_subprocess:
            yield LintProblem(
                "deadline-timer-placement",
                event,
                f"deadline timer '{clock or figure}' is a {_kind(event)}: a deadline is a boundary timer "
                "on the task, subprocess or call activity it guards, or the timer start of an event "
                "subprocess guarding a whole path",
            )


def _gateway_conditions(root: Any) -> Iterator[LintProblem]:
    for gateway in _xpath(root, "//bpmn:exclusiveGateway | //bpmn:inclusiveGateway"):
        gateway_id = gateway.get("id")
        flows = _xpath(gateway, f"../bpmn:sequenceFlow[@sourceRef='{gateway_id}']") if gateway_id else []
        if len(flows) < 2:
            continue
        default = gateway.get("default")
        for flow in flows:
            if flow.get("id") == default:
                continue
            condition = _xpath(flow, "./bpmn:conditionExpression")
            if not condition or not (condition[0].text or "").strip():
                yield LintProblem(
                    "gateway-conditions",
                    flow,
                    f"flow leaves {_kind(gateway)} '{gateway.get('name') or gateway_id}' without a "
                    "condition: give it one, or make it the gateway's default flow",
                )
