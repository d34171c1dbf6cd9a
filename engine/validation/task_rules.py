"""Step 5, tasks: forms and handler names exist, properties and parameters are well formed,
and every ``stops_clock`` names a drawn clock (lanes and missing forms: engine/lint.py)."""

from __future__ import annotations

from typing import Any

from engine.bundle import FORMS_DIR, Bundle
from engine.handlers import HandlerRegistry
from engine.property_names import CLOCK, FORM, STOPS_CLOCK, UI_FORM, VALIDATOR
from engine.validation.expressions import check_variable
from engine.validation.problems import Document, Report


def check_tasks(
    doc: Document,
    report: Report,
    bundle: Bundle,
    handlers: HandlerRegistry,
    reserved: frozenset[str],
) -> set[str]:
    """Forms, handler names, property and parameter shape; returns the UI-schema form names."""
    for prop in doc.xpath(".//spiffworkflow:properties/spiffworkflow:property"):
        if prop.get("name") is None or prop.get("value") is None:
            report.lint(doc, prop, "a spiffworkflow:property needs both a name and a value")
    ui_forms: set[str] = set()
    for task in doc.xpath(".//bpmn:userTask"):
        ui_forms |= _check_user_task(doc, report, task, bundle, handlers)
    for operator in doc.xpath(".//bpmn:serviceTask/bpmn:extensionElements/spiffworkflow:serviceTaskOperator"):
        _check_service_operator(doc, report, operator, handlers, reserved)
    return ui_forms


def _check_user_task(
    doc: Document, report: Report, task: Any, bundle: Bundle, handlers: HandlerRegistry
) -> set[str]:
    """A user task's form, UI schema and validator exist; returns its UI-schema form name."""
    form_names = bundle.form_files
    props = _properties(doc, task)
    form = props.get(FORM)
    # A user task without a form, or one in no lane, is engine/lint.py's (user-task-form, -lane).
    if form is not None and form.get("value") and form.get("value") not in form_names:
        report.lint(
            doc,
            form,
            f"form '{form.get('value')}' is not in {FORMS_DIR}/ "
            f"(available: {', '.join(sorted(form_names)) or 'none'})",
        )
    ui_forms: set[str] = set()
    ui_form = props.get(UI_FORM)
    if ui_form is not None and ui_form.get("value"):
        ui_forms.add(ui_form.get("value"))
        if ui_form.get("value") not in form_names:
            report.lint(doc, ui_form, f"UI schema '{ui_form.get('value')}' is not in {FORMS_DIR}/")
    validator = props.get(VALIDATOR)
    if validator is not None and validator.get("value") not in handlers.validators:
        report.lint(
            doc,
            validator,
            f"validator '{validator.get('value')}' is not registered "
            f"(known: {', '.join(sorted(handlers.validators)) or 'none'})",
        )
    return ui_forms


def _check_service_operator(
    doc: Document, report: Report, operator: Any, handlers: HandlerRegistry, reserved: frozenset[str]
) -> None:
    """The operation is registered, its result variable is a name, its parameters are typed."""
    name = operator.get("id")
    if not name:
        report.lint(doc, operator, "the service task operator has no id (operation name)")
    elif name not in handlers.operations:
        report.lint(
            doc,
            operator,
            f"service operation '{name}' is not registered "
            f"(known: {', '.join(sorted(handlers.operations)) or 'none'})",
        )
    result = operator.get("resultVariable")
    if result:
        check_variable(doc, report, operator, result, "resultVariable", reserved)
    for parameter in doc.xpath(".//spiffworkflow:parameter", operator):
        if parameter.get("value") is not None and (not parameter.get("id") or not parameter.get("type")):
            report.lint(doc, parameter, "a service parameter needs an id and a type")


def _properties(doc: Document, task: Any) -> dict[str, Any]:
    """``spiffworkflow:property`` elements of a task by name (first wins), problems reported."""
    found: dict[str, Any] = {}
    for prop in doc.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", task):
        found.setdefault(prop.get("name"), prop)
    return found


def check_clock_stoppers(docs: list[Document], report: Report) -> None:
    """A ``stops_clock`` property names a clock drawn on a timer of the bundle (any file):
    a misspelt one would leave that clock's stop where its timer puts it, silently."""
    drawn: set[str] = set()
    stoppers = []
    for doc in docs:
        for prop in doc.xpath(".//spiffworkflow:properties/spiffworkflow:property"):
            if prop.get("name") == CLOCK:
                drawn.add((prop.get("value") or "").strip())
            elif prop.get("name") == STOPS_CLOCK:
                stoppers.append((doc, prop))
    for doc, prop in stoppers:
        value = (prop.get("value") or "").strip()
        if value not in drawn:
            known = ", ".join(sorted(clock for clock in drawn if clock)) or "none"
            report.lint(doc, prop, f"stops_clock '{value}' names no clock of a timer (drawn: {known})")
