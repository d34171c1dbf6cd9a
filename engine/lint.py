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

One more rule needs the bundle's forms and the handlers, so only the server runs it
(:func:`lint_bundle`): ``form-has-validator-fields``, a user task's form keeps every field its
validator reads (``HandlerRegistry.validator(name, fields=...)``), pinned to the form and the task.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine.bpmn_xml import NS, element_kind, property_values
from engine.property_names import CLOCK, FIGURE, FORM, VALIDATOR

RULES: dict[str, str] = {
    "user-task-form": "a user task names its form",
    "user-task-lane": "a user or manual task is in a lane",
    "deadline-timer-properties": "a deadline timer carries clock and figure",
    "deadline-timer-placement": "a deadline is a boundary timer or an event subprocess's timer start",
    "gateway-conditions": "a gateway's outgoing flows have conditions, except the default",
}
SERVER_RULES: dict[str, str] = {
    "form-has-validator-fields": "a user task's form keeps every field its validator reads",
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


@dataclass(frozen=True)
class BundleLintProblem:
    """A problem located as validation reports it."""

    rule: str
    file: str
    line: int | None
    element_id: str | None
    message: str


def lint_bundle(
    diagrams: Mapping[str, Any],
    forms: Mapping[str, Mapping[str, Any]],
    form_texts: Mapping[str, str],
    validator_fields: Mapping[str, frozenset[str]],
) -> list[BundleLintProblem]:
    """Every rule on every parsed diagram (file name -> lxml root), with the forms they name."""
    found: list[BundleLintProblem] = []
    for file, root in diagrams.items():
        for problem in lint_document(root):
            line = problem.element.sourceline
            found.append(BundleLintProblem(problem.rule, file, line, problem.element_id, problem.message))
        found.extend(_form_fields(file, root, forms, form_texts, validator_fields))
    return found


def _form_fields(
    file: str,
    root: Any,
    forms: Mapping[str, Mapping[str, Any]],
    form_texts: Mapping[str, str],
    validator_fields: Mapping[str, frozenset[str]],
) -> Iterator[BundleLintProblem]:
    for task in _xpath(root, "//bpmn:userTask"):
        props = property_values(task)
        form, validator = props.get(FORM), props.get(VALIDATOR)
        needed = validator_fields.get(validator or "", frozenset())
        schema = forms.get(form or "")
        if not needed or not isinstance(schema, Mapping):
            continue
        have = set(schema.get("properties") or {})
        text = form_texts.get(form or "", "")
        line = text[: text.find('"properties"')].count("\n") + 1 if '"properties"' in text else 1
        for name in sorted(needed - have):
            message = (
                f"field '{name}': the validator '{validator}' of task '{task.get('id')}' reads it, "
                "but the form no longer has it (add it back, or choose another validator)"
            )
            yield BundleLintProblem("form-has-validator-fields", f"forms/{form}", line, None, message)
            yield BundleLintProblem(
                "form-has-validator-fields",
                file,
                task.sourceline,
                task.get("id"),
                f"form '{form}' has no field '{name}', which the validator '{validator}' reads",
            )


def lint_document(root: Any) -> list[LintProblem]:
    """Every rule's problems in one parsed diagram, in document order per rule."""
    return [
        *_user_task_form(root),
        *_user_task_lane(root),
        *_deadline_timers(root),
        *_gateway_conditions(root),
    ]


def _xpath(node: Any, path: str) -> list[Any]:
    return node.xpath(path, namespaces=NS)


def _user_task_form(root: Any) -> Iterator[LintProblem]:
    for task in _xpath(root, "//bpmn:userTask"):
        if not property_values(task).get(FORM):
            yield LintProblem("user-task-form", task, FORM_MESSAGE)


def _user_task_lane(root: Any) -> Iterator[LintProblem]:
    for process in _xpath(root, "//bpmn:process"):
        if not _xpath(process, ".//bpmn:lane"):
            continue
        in_lanes = {ref.text for ref in _xpath(process, ".//bpmn:lane/bpmn:flowNodeRef")}
        for task in _xpath(process, ".//bpmn:userTask | .//bpmn:manualTask"):
            enclosing = [task, *task.iterancestors()]
            if not any(element.get("id") in in_lanes for element in enclosing):
                message = f"{element_kind(task)} is in no lane, so nobody would be offered it"
                yield LintProblem("user-task-lane", task, message)


def _deadline_timers(root: Any) -> Iterator[LintProblem]:
    timers = _xpath(
        root,
        "//*[(self::bpmn:boundaryEvent or self::bpmn:startEvent or self::bpmn:intermediateCatchEvent)"
        " and bpmn:timerEventDefinition]",
    )
    for event in timers:
        props = property_values(event)
        clock, figure = props.get(CLOCK), props.get(FIGURE)
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
                f"deadline timer '{clock or figure}' is a {element_kind(event)}: "
                "a deadline is a boundary timer on the task, subprocess or call activity it guards, "
                "or the timer start of an event subprocess guarding a whole path",
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
                    f"flow leaves {element_kind(gateway)} '{gateway.get('name') or gateway_id}' without a "
                    "condition: give it one, or make it the gateway's default flow",
                )
