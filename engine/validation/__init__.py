"""Deploy-time validation: a bundle is compiled completely, or refused with every problem.

Nothing is stored until :func:`compile_bundle` has succeeded. It collects every problem it
can find in one pass (not just the first), and each one names the file, the line, the
element id and says in plain words what is wrong, so an author can fix a bundle in one go.

What is checked, in order of the pipeline (one module of this package per concern):

0. Deadline timers (``clock`` + ``figure`` properties) are labelled with their figure from
   ``procedure.toml`` by the registered labeller (``engine.timer_labels``); what follows
   checks, and the deployment stores, the labelled files. A figure that cannot be shown
   is a problem at the timer.
1. XML safety: a hardened lxml parser (no DTD, no entities, no network, no huge trees);
   a DOCTYPE or entity declaration is refused outright.
2. XSD: SpiffWorkflow's BPMN schema plus its ``spiffworkflow`` extension schema. We run the
   schema of ``SpiffWorkflow.spiff.parser.process.VALIDATOR`` ourselves instead of handing
   the validator to the parser, because the library raises only the *last* schema error of
   a file (``BpmnValidator.validate``); here every error is reported.
3. Duplicate ids and missing diagram interchange (shapes and edges), so every deployed
   diagram opens in a modeler as it runs.
4. Every Python expression and script compiled exactly as the script engine will run it
   (``eval`` strips leading spaces and tabs, ``exec`` does not), under the sandbox's
   policy (``engine.sandbox_policy``: no ``_`` names, only whitelisted builtins and
   attributes, no functions, imports, ``while`` or ``try``, no constant too large), each
   refusal pinned to its element and line; timer literals checked.
5. Forms (JSON, JSON Schema) and handler names (validators, service operations).
6. ``procedure.toml``: syntax, ``main_process``, working-time calendars.
7. SpiffWorkflow's own parser, all files in one parser so call activities resolve. Its
   semantic errors carry an element id but no line (``ValidationException`` reads a
   ``line_number`` attribute lxml elements do not have): the line is looked up here.

Files that are not well formed or fail the schema are still linted (steps 3-5) but are not
handed to the SpiffWorkflow parser, whose messages about a broken document are noise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask

from engine.bundle import CONFIG_NAME, Bundle
from engine.calendar import WorkingCalendar
from engine.handlers import HandlerRegistry
from engine.lint import lint_bundle
from engine.timer_labels import label_bundle
from engine.validation.config import (
    check_calendars,
    check_config,
    check_domain_config,
    check_main_process,
)
from engine.validation.diagram import check_diagram, check_lanes, check_supported
from engine.validation.expressions import TIMER_QUOTES_MESSAGE, check_expressions
from engine.validation.forms import load_forms
from engine.validation.problems import BundleInvalid, Document, Problem, Report
from engine.validation.schema import check_duplicate_ids, check_schema
from engine.validation.spiff_parse import check_call_activities, parse_processes
from engine.validation.task_rules import check_clock_stoppers, check_tasks
from engine.validation.xml_safety import parse_bpmn_safely, parse_xml

__all__ = [
    "TIMER_QUOTES_MESSAGE",
    "BundleInvalid",
    "CompiledBundle",
    "Problem",
    "compile_bundle",
    "parse_bpmn_safely",
]


@dataclass(frozen=True, eq=False)
class CompiledBundle:
    """A bundle that passed validation, with everything the runtime needs parsed once."""

    bundle: Bundle
    config: dict[str, Any]
    main_process: str
    specs: dict[str, BpmnProcessSpec]
    """Every executable process of every file, embedded subprocesses included, by id."""
    forms: dict[str, dict[str, Any]]
    """Every file of ``forms/`` parsed, keyed by its name there (``"review.json"``)."""
    calendars: dict[str, WorkingCalendar]
    """Working-time calendars by name, from the ``[calendars.<name>]`` tables."""

    def subprocess_specs(self, process_id: str) -> dict[str, BpmnProcessSpec]:
        """The specs an instance of ``process_id`` needs beside its own (``BpmnWorkflow``)."""
        needed: dict[str, BpmnProcessSpec] = {}
        pending = [process_id]
        while pending:
            spec = self.specs[pending.pop()]
            for task_spec in spec.task_specs.values():
                name = getattr(task_spec, "spec", None)
                if isinstance(task_spec, SubWorkflowTask) and name not in needed:
                    needed[name] = self.specs[name]
                    pending.append(name)
        needed.pop(process_id, None)
        return needed


def compile_bundle(
    bundle: Bundle,
    handlers: HandlerRegistry,
    expression_names: Iterable[str] = (),
) -> CompiledBundle:
    """Validate and parse a bundle completely, or raise :class:`BundleInvalid` listing all problems.

    ``expression_names`` are the globals the script engine gives expressions (helpers such
    as ``now``): SpiffWorkflow refuses to run a script when task data holds one of these
    names, so a script, form field or result variable that would create one is reported.
    """
    report = Report()
    reserved = frozenset(expression_names)

    config = check_config(bundle, report)
    bundle = _label_timers(bundle, config, handlers, report)

    docs: list[Document] = []
    if not bundle.bpmn_files:
        report.add("", None, None, "the bundle has no .bpmn file")
    for name, data in bundle.bpmn_files.items():
        root, problems = parse_xml(data, name)
        for problem in problems:
            report.add(problem.file, problem.line, problem.element_id, problem.message)
        if root is None:
            continue
        doc = Document(name, root)
        duplicate_lines = check_duplicate_ids(doc, report)
        doc.schema_valid = check_schema(doc, report, duplicate_lines)
        docs.append(doc)

    ui_forms: set[str] = set()
    for doc in docs:
        check_supported(doc, report)
        check_lanes(doc, report, config)
        check_diagram(doc, report)
        check_expressions(doc, report, reserved)
        ui_forms |= check_tasks(doc, report, bundle, handlers, reserved)
    check_clock_stoppers(docs, report)
    forms = load_forms(bundle, report, ui_forms, reserved)
    texts = {name: data.decode("utf-8", "replace") for name, data in bundle.form_files.items()}
    roots = {doc.name: doc.root for doc in docs}
    for found in lint_bundle(roots, forms, texts, handlers.validator_fields):  # engine/lint.py
        report.add(found.file, found.line, found.element_id, found.message)

    specs, process_ids = parse_processes(docs, report)
    check_call_activities(docs, report, process_ids)

    main_process = check_main_process(bundle, config, report, docs)
    calendars = check_calendars(bundle, config, report)
    check_domain_config(bundle, config, handlers, report)
    if not report.problems and main_process not in specs:  # defensive: parsed, yet no spec
        report.add(CONFIG_NAME, None, None, f"main_process '{main_process}' could not be parsed")

    if report.problems:
        raise BundleInvalid(sorted(report.problems, key=Problem.sort_key))
    assert config is not None and main_process is not None
    return CompiledBundle(
        bundle=bundle,
        config=config,
        main_process=main_process,
        specs=specs,
        forms=forms,
        calendars=calendars,
    )


def _label_timers(
    bundle: Bundle, config: dict[str, Any] | None, handlers: HandlerRegistry, report: Report
) -> Bundle:
    """The bundle with its deadline timers labelled from the config; unlabelable timers reported."""
    if config is None or handlers.timer_labeller is None:
        return bundle
    labelled, problems = label_bundle(bundle, config, handlers.timer_labeller)
    for timer, message in problems:
        report.add(timer.file, timer.line, timer.element_id, message)
    return labelled
