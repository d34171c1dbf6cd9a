"""Deploy-time validation: a bundle is compiled completely, or refused with every problem.

Nothing is stored until :func:`compile_bundle` has succeeded. It collects every problem it
can find in one pass (not just the first), and each one names the file, the line, the
element id and says in plain words what is wrong, so an author can fix a bundle in one go.

What is checked, in order of the pipeline:

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

import ast
import json
import re
import threading
import tomllib
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine import sandbox_policy
from engine.bundle import CONFIG_NAME, FORMS_DIR, Bundle
from engine.calendar import CalendarConfigError, WorkingCalendar, calendars_from_config
from engine.handlers import HandlerRegistry
from engine.lint import lint_bundle
from engine.timer_labels import label_bundle

__all__ = [
    "BundleInvalid",
    "CompiledBundle",
    "Problem",
    "compile_bundle",
    "parse_bpmn_safely",
]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "spiffworkflow": SPIFF_NS}
_PREFIXES = {uri: prefix for prefix, uri in NS.items()}
_ID_NAMESPACES = frozenset({BPMN_NS, BPMNDI_NS, DC_NS, DI_NS})

FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"
VALIDATOR_PROPERTY = "validator"
PRIORITY_PROPERTY = "priority"
# Task properties holding an expression evaluated on the task data when the task opens.
EXPRESSION_PROPERTIES = {
    PRIORITY_PROPERTY: "the priority expression",
    "candidateGroup": "the candidate group expression",
    "assignee": "the assignee expression",
}

# Elements that must have a BPMNShape, and those that must have a BPMNEdge.
_SHAPE_TAGS = frozenset(
    f"{{{BPMN_NS}}}{name}"
    for name in [
        *("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"),
        *("boundaryEvent", "task", "userTask", "manualTask", "scriptTask", "serviceTask"),
        *("sendTask", "receiveTask", "businessRuleTask", "callActivity", "subProcess"),
        *("transaction", "adHocSubProcess", "exclusiveGateway", "inclusiveGateway"),
        *("parallelGateway", "eventBasedGateway", "complexGateway", "lane", "participant"),
        *("dataObjectReference", "dataStoreReference"),
    ]
)
_EDGE_TAGS = frozenset(f"{{{BPMN_NS}}}{name}" for name in ("sequenceFlow", "messageFlow"))
_HUMAN_TASK_TAGS = frozenset(f"{{{BPMN_NS}}}{name}" for name in ("userTask", "manualTask"))

TIMER_QUOTES_MESSAGE = (
    'timer expression must be a Python expression returning a string, e.g. "PT2H" with quotes'
)
_BARE_ISO = re.compile(
    r"""^(?:
        R\d*/.*                                   # a cycle: R3/PT1H, R/2025-...
      | P(?=[\dT])[\d.,]*[YMWD]?[\dYMWD.,]*(?:T[\dHMS.,]+)?   # a duration: PT2H, P1D
      | \d{4}-\d{2}-\d{2}(?:[T ][\d:.,]+)?(?:Z|[+-]\d{2}:?\d{2})?  # a date or date-time
    )$""",
    re.VERBOSE,
)
_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bundle, located as precisely as the source allows."""

    file: str
    line: int | None
    element_id: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [f"{where}:"] if where else []
        if self.element_id:
            parts.append(f"[{self.element_id}]")
        parts.append(self.message)
        return " ".join(parts)

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line or 0, self.element_id or "", self.message)


class BundleInvalid(Exception):
    """The bundle was read but cannot be deployed; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


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


# --------------------------------------------------------------------------- safe XML


def _safe_parser() -> etree.XMLParser:
    # One per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
    )


_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)\b")
_DOCTYPE_MESSAGE = "DOCTYPE and entity declarations are not allowed"


def _parse_xml(data: bytes, file_name: str) -> tuple[Any, list[Problem]]:
    """(root, []) or (None, problems): never expands an entity or loads anything."""
    found = _DOCTYPE.search(data)
    if found:
        line = data.count(b"\n", 0, found.start()) + 1
        return None, [Problem(file_name, line, None, _DOCTYPE_MESSAGE)]
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as error:
        message = error.msg or str(error)
        return None, [Problem(file_name, error.lineno, None, f"not well-formed XML: {message}")]
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. a UTF-16 file
        return None, [Problem(file_name, 1, None, _DOCTYPE_MESSAGE)]
    return root, []


def parse_bpmn_safely(data: bytes, file_name: str) -> Any:
    """The lxml root of a BPMN file, parsed without DTDs, entities or network access.

    Raises :class:`BundleInvalid` for a DOCTYPE or entity declaration and for XML that is
    not well formed.
    """
    root, problems = _parse_xml(data, file_name)
    if problems:
        raise BundleInvalid(problems)
    return root


# --------------------------------------------------------------------------- collecting


class _Report:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._seen: set[Problem] = set()
        self.flagged: set[tuple[str, str]] = set()  # (file, element id) with a lint problem

    def add(self, file: str, line: int | None, element_id: str | None, message: str) -> None:
        problem = Problem(file, line, element_id or None, message)
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)

    def lint(self, doc: _Document, element: Any, message: str, line: int | None = None) -> None:
        """A problem about ``element`` (or the nearest enclosing element with an id)."""
        owner = doc.owner_id(element)
        if owner:
            self.flagged.add((doc.name, owner))
        self.add(doc.name, line if line is not None else element.sourceline, owner, message)


@dataclass
class _Document:
    name: str
    root: Any
    schema_valid: bool = True
    ids: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for element in self.root.iter():
            if _namespace(element) in _ID_NAMESPACES:
                element_id = element.get("id")
                if element_id is not None:
                    self.ids.setdefault(element_id, element)

    def line_of(self, element_id: str | None) -> int | None:
        element = self.ids.get(element_id) if element_id else None
        return element.sourceline if element is not None else None

    def owner_id(self, element: Any) -> str | None:
        """The id of the element, or of its nearest BPMN ancestor that has one.

        Event definitions are skipped: modelers give them ids, but an author knows the event.
        """
        while element is not None:
            if (
                _namespace(element) in _ID_NAMESPACES
                and element.get("id")
                and not etree.QName(element).localname.endswith("EventDefinition")
            ):
                return element.get("id")
            element = element.getparent()
        return None

    def xpath(self, path: str, node: Any = None) -> list[Any]:
        return (self.root if node is None else node).xpath(path, namespaces=NS)


def _namespace(element: Any) -> str | None:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    return tag[1:].split("}", 1)[0]


def _short(text: str) -> str:
    """``{uri}local`` -> ``prefix:local`` for the namespaces a BPMN author knows."""
    return re.sub(
        r"\{([^}]*)\}",
        lambda m: f"{_PREFIXES[m.group(1)]}:" if m.group(1) in _PREFIXES else "",
        text,
    )


# --------------------------------------------------------------------------- entry point


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
    report = _Report()
    reserved = frozenset(expression_names)

    config = _check_config(bundle, report)
    bundle = _label_timers(bundle, config, handlers, report)

    docs: list[_Document] = []
    if not bundle.bpmn_files:
        report.add("", None, None, "the bundle has no .bpmn file")
    for name, data in bundle.bpmn_files.items():
        root, problems = _parse_xml(data, name)
        for problem in problems:
            report.add(problem.file, problem.line, problem.element_id, problem.message)
        if root is None:
            continue
        doc = _Document(name, root)
        duplicate_lines = _check_duplicate_ids(doc, report)
        doc.schema_valid = _check_schema(doc, report, duplicate_lines)
        docs.append(doc)

    ui_forms: set[str] = set()
    for doc in docs:
        _check_supported(doc, report)
        _check_lanes(doc, report, config)
        _check_diagram(doc, report)
        _check_expressions(doc, report, reserved)
        ui_forms |= _check_tasks(doc, report, bundle, handlers, reserved)
    _check_clock_stoppers(docs, report)
    forms = _load_forms(bundle, report, ui_forms, reserved)
    texts = {name: data.decode("utf-8", "replace") for name, data in bundle.form_files.items()}
    roots = {doc.name: doc.root for doc in docs}
    for found in lint_bundle(roots, forms, texts, handlers.validator_fields):  # engine/lint.py
        report.add(found.file, found.line, found.element_id, found.message)

    specs, process_ids = _parse_processes(docs, report)
    _check_call_activities(docs, report, process_ids)

    main_process = _check_main_process(bundle, config, report, docs)
    calendars = _check_calendars(bundle, config, report)
    _check_domain_config(bundle, config, handlers, report)
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


# --------------------------------------------------------------------------- ids, schema


def _label_timers(
    bundle: Bundle, config: dict[str, Any] | None, handlers: HandlerRegistry, report: _Report
) -> Bundle:
    """The bundle with its deadline timers labelled from the config; unlabelable timers reported."""
    if config is None or handlers.timer_labeller is None:
        return bundle
    labelled, problems = label_bundle(bundle, config, handlers.timer_labeller)
    for timer, message in problems:
        report.add(timer.file, timer.line, timer.element_id, message)
    return labelled


def _check_duplicate_ids(doc: _Document, report: _Report) -> set[int]:
    first_line: dict[str, int] = {}
    lines: set[int] = set()
    for element in doc.root.iter():
        if _namespace(element) not in _ID_NAMESPACES:
            continue
        element_id = element.get("id")
        if element_id is None:
            continue
        if element_id in first_line:
            report.add(
                doc.name,
                element.sourceline,
                element_id,
                f"duplicate id '{element_id}': it is already used on line "
                f"{first_line[element_id]}; ids must be unique within a file",
            )
            lines.add(element.sourceline)
        else:
            first_line[element_id] = element.sourceline
    return lines


_SCHEMA_LOCK = threading.Lock()  # an XMLSchema keeps its error log on itself


def _check_schema(doc: _Document, report: _Report, duplicate_lines: set[int]) -> bool:
    VALIDATOR.preprocess(doc.root)  # what the library does before validating (bpmn-js quirk)
    with _SCHEMA_LOCK:
        valid = VALIDATOR.validator.validate(doc.root.getroottree())
        errors = [(entry.line, entry.path, entry.message) for entry in VALIDATOR.validator.error_log]
    if valid:
        return True
    for line, path, message in errors:
        if line in duplicate_lines and "'xs:ID'" in message:
            continue  # reported above, in plainer words
        element = _element_at(doc, path, line)
        element_id = doc.owner_id(element) if element is not None else None
        report.add(doc.name, line, element_id, f"does not match the BPMN schema: {_short(message)}")
    return False


def _element_at(doc: _Document, path: str | None, line: int | None) -> Any:
    if path:
        namespaces = {prefix: uri for prefix, uri in doc.root.nsmap.items() if prefix}
        try:
            found = doc.root.getroottree().xpath(path, namespaces=namespaces)
        except etree.XPathError:
            found = []
        if found and isinstance(found[0], etree._Element):
            return found[0]
    if line is not None:
        for element in doc.root.iter():
            if element.sourceline == line:
                return element
    return None


# --------------------------------------------------------------------------- diagram


# Elements other modelers draw that this engine cannot run, with what to use instead.
_UNSUPPORTED = {
    f"{{{BPMN_NS}}}complexGateway": "use an exclusive, inclusive or parallel gateway with conditions",
    f"{{{BPMN_NS}}}businessRuleTask": "bundles carry no DMN decisions: use a script or service task",
    f"{{{BPMN_NS}}}choreographyTask": "choreographies are not executable",
    f"{{{BPMN_NS}}}subChoreography": "choreographies are not executable",
    f"{{{BPMN_NS}}}callChoreography": "choreographies are not executable",
}


def _check_supported(doc: _Document, report: _Report) -> None:
    """Elements SpiffWorkflow 3.2 cannot execute, named plainly (its own message is "no support")."""
    for element in doc.root.iter(*_UNSUPPORTED):
        instead = _UNSUPPORTED[element.tag]
        report.lint(doc, element, f"{_kind(element)} is not supported by this engine: {instead}")


def _check_lanes(doc: _Document, report: _Report, config: Mapping[str, Any] | None) -> None:
    """With a ``[lanes]`` table, every lane must be in it: a lane nobody maps offers its tasks to nobody.

    Without the table a lane's name is its candidate group (``Runtime.candidate_group``).
    """
    mapped = (config or {}).get("lanes")
    if not isinstance(mapped, Mapping):
        return
    for lane in doc.xpath(".//bpmn:lane"):
        name = lane.get("name") or ""
        if name not in mapped:
            known = ", ".join(sorted(mapped)) or "none"
            report.lint(
                doc,
                lane,
                f"lane '{name}' is not in [lanes] of {CONFIG_NAME}, so no group would be offered "
                f"its tasks (known lanes: {known})",
            )


def _check_diagram(doc: _Document, report: _Report) -> None:
    planes = {plane.get("bpmnElement") for plane in doc.xpath(".//bpmndi:BPMNPlane")}
    shapes = {shape.get("bpmnElement") for shape in doc.xpath(".//bpmndi:BPMNShape")}
    edges = {edge.get("bpmnElement") for edge in doc.xpath(".//bpmndi:BPMNEdge")}
    drawn_processes: set[str] = set()
    for collaboration in doc.xpath("./bpmn:collaboration"):
        if collaboration.get("id") in planes:
            drawn_processes.update(
                participant.get("processRef")
                for participant in doc.xpath("./bpmn:participant", collaboration)
            )
            _check_drawn(doc, report, collaboration, shapes, edges)

    for process in doc.xpath("./bpmn:process"):
        process_id = process.get("id")
        if not any(child.tag in _SHAPE_TAGS or child.tag in _EDGE_TAGS for child in process):
            continue  # an empty pool's process: nothing to draw
        if process_id not in planes and process_id not in drawn_processes:
            report.lint(
                doc,
                process,
                "the process has no diagram (no BPMNDiagram/BPMNPlane shows it): "
                "open and save it in a BPMN modeler",
            )
            continue
        _check_drawn(doc, report, process, shapes, edges)

    for di_element in doc.xpath(".//bpmndi:BPMNShape | .//bpmndi:BPMNEdge"):
        target = di_element.get("bpmnElement")
        if target and target not in doc.ids:
            report.add(
                doc.name,
                di_element.sourceline,
                di_element.get("id"),
                f"the diagram draws '{target}', which is not an element of this file",
            )


def _check_drawn(doc: _Document, report: _Report, container: Any, shapes: set[str], edges: set[str]) -> None:
    for element in container.iter():
        if element is container:
            continue
        element_id = element.get("id")
        if element.tag in _SHAPE_TAGS and element_id not in shapes:
            report.lint(doc, element, f"{_kind(element)} has no shape in the diagram (BPMNShape)")
        elif element.tag in _EDGE_TAGS and element_id not in edges:
            report.lint(doc, element, f"{_kind(element)} has no edge in the diagram (BPMNEdge)")


def _kind(element: Any) -> str:
    local = etree.QName(element).localname
    return re.sub(r"(?<!^)([A-Z])", lambda m: " " + m.group(1).lower(), local)


# --------------------------------------------------------------------------- expressions


def _compile(text: str, mode: str) -> SyntaxError | None:
    # Mirror the engine: eval() strips leading spaces and tabs from a string, exec() does not.
    source = text.lstrip(" \t") if mode == "eval" else text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<bpmn>", mode, dont_inherit=True)
    except SyntaxError as error:
        return error
    except ValueError as error:  # e.g. NUL characters
        return SyntaxError(str(error))
    return None


def _check_code(
    doc: _Document,
    report: _Report,
    element: Any,
    text: str | None,
    mode: str,
    what: str,
    reserved: frozenset[str],
    *,
    line: int | None = None,
) -> bool:
    """Compile one expression (mode 'eval') or script ('exec'); False if it has errors."""
    if text is None or not text.strip():
        report.lint(doc, element, f"{what} is empty", line)
        return False
    base = line if line is not None else element.sourceline
    error = _compile(text, mode)
    if error is not None:
        offset = (error.lineno or 1) - 1
        message = f"{what} is not valid Python: {error.msg}"
        source_line = (error.text or "").strip()
        if source_line:
            message += f" in `{source_line}`"
        if isinstance(error, IndentationError):
            message += " (remove the indentation: the code must start at the left margin)"
        if offset:
            message += f" (line {offset + 1} of the {'script' if mode == 'exec' else 'expression'})"
        report.lint(doc, element, message, base + offset if base is not None else None)
        return False
    refusals = sandbox_policy.refusals(text, mode)
    for refusal in refusals:
        where = f" (line {refusal.line} of the script)" if mode == "exec" and refusal.line > 1 else ""
        report.lint(
            doc,
            element,
            f"{what} {refusal.message}{where}",
            base + refusal.line - 1 if base is not None else None,
        )
    if refusals:
        return False
    if reserved and mode == "exec":
        for name, name_line in _assigned_names(text):
            if name in reserved:
                report.lint(
                    doc,
                    element,
                    f"{what} assigns '{name}', a name the engine provides to expressions; "
                    "task data may not shadow it, so choose another variable name",
                    base + name_line - 1 if base is not None else None,
                )
    return True


def _assigned_names(script: str) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            yield node.id, node.lineno
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, node.lineno
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                yield (alias.asname or alias.name).split(".")[0], node.lineno


def _check_expressions(doc: _Document, report: _Report, reserved: frozenset[str]) -> None:
    def check(element: Any, text: str | None, mode: str, what: str, line: int | None = None):
        return _check_code(doc, report, element, text, mode, what, reserved, line=line)

    for condition in doc.xpath(".//bpmn:sequenceFlow/bpmn:conditionExpression"):
        check(condition, condition.text, "eval", "the condition")
    for condition in doc.xpath(".//bpmn:conditionalEventDefinition/bpmn:condition"):
        check(condition, condition.text, "eval", "the event condition")
    for name, what in (
        ("loopCondition", "the loop condition"),
        ("loopCardinality", "the loop cardinality"),
        ("completionCondition", "the completion condition"),
    ):
        for element in doc.xpath(f".//bpmn:{name}"):
            check(element, element.text, "eval", what)

    for timer in doc.xpath(
        ".//bpmn:timerEventDefinition/bpmn:timeDate"
        " | .//bpmn:timerEventDefinition/bpmn:timeDuration"
        " | .//bpmn:timerEventDefinition/bpmn:timeCycle"
    ):
        _check_timer(doc, report, timer, reserved)

    for script in doc.xpath(".//bpmn:scriptTask"):
        bodies = doc.xpath("./bpmn:script", script)
        if not bodies:
            report.lint(doc, script, "the script task has no script")
        for body in bodies:
            check(body, body.text, "exec", "the script")
    for name, what in (("preScript", "the pre-script"), ("postScript", "the post-script")):
        for element in doc.xpath(f".//bpmn:extensionElements/spiffworkflow:{name}"):
            if element.text and element.text.strip():
                check(element, element.text, "exec", what)

    for parameter in doc.xpath(".//spiffworkflow:serviceTaskOperator//spiffworkflow:parameter"):
        value = parameter.get("value")
        if value is not None:
            check(parameter, value, "eval", f"service parameter '{parameter.get('id')}'")
    for prop in doc.xpath(".//spiffworkflow:properties/spiffworkflow:property"):
        if prop.get("name") in EXPRESSION_PROPERTIES and prop.get("value") is not None:
            check(prop, prop.get("value"), "eval", EXPRESSION_PROPERTIES[prop.get("name")])

    for name, what in (
        ("messagePayload", "the message payload"),
        ("payloadExpression", "the payload expression"),
    ):
        for element in doc.xpath(f".//spiffworkflow:{name}"):
            if element.text and element.text.strip():
                check(element, element.text, "eval", what)
    for element in doc.xpath(".//spiffworkflow:processVariableCorrelation/spiffworkflow:expression"):
        check(element, element.text, "eval", "the correlation expression")
    for element in doc.xpath(
        ".//bpmn:correlationPropertyRetrievalExpression/*[self::bpmn:formalExpression"
        " or self::bpmn:messagePath]"
    ):
        check(element, element.text, "eval", "the correlation retrieval expression")
    for name in ("messageVariable", "variableName"):
        for element in doc.xpath(f".//spiffworkflow:{name}"):
            _check_variable(doc, report, element, (element.text or "").strip(), name, reserved)


def _check_variable(
    doc: _Document, report: _Report, element: Any, name: str, what: str, reserved: frozenset[str]
) -> None:
    if not name:
        return
    if not name.isidentifier():
        report.lint(doc, element, f"{what} '{name}' is not a valid Python variable name")
    elif name in reserved:
        report.lint(
            doc,
            element,
            f"{what} '{name}' is a name the engine provides to expressions; task data may not shadow it",
        )


def _check_timer(doc: _Document, report: _Report, element: Any, reserved: frozenset[str]) -> None:
    kind = etree.QName(element).localname
    text = element.text
    if text is None or not text.strip():
        report.lint(doc, element, "the timer has no expression")
        return
    stripped = text.strip()
    if _BARE_ISO.match(stripped) and stripped not in reserved:
        report.lint(doc, element, TIMER_QUOTES_MESSAGE)
        return
    if not _check_code(doc, report, element, text, "eval", "the timer expression", reserved):
        return
    # A literal can be checked now rather than when the timer starts waiting.
    try:
        literal = ast.literal_eval(text.lstrip(" \t"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return
    if not isinstance(literal, str):
        report.lint(doc, element, f"the timer expression gives {type(literal).__name__}, not a string")
        return
    problem = _timer_literal_problem(kind, literal)
    if problem:
        report.lint(doc, element, problem)


def _timer_literal_problem(kind: str, value: str) -> str | None:
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
        else:
            parsed = TimerEventDefinition.parse_time_or_duration(value)
            if isinstance(parsed, dict):
                return f"timeDate needs a date and time, not the duration {value!r}"
    except Exception:  # noqa: BLE001 - the library raises bare Exception and friends
        expected = {
            "timeDuration": "an ISO 8601 duration like 'PT2H'",
            "timeCycle": "an ISO 8601 repetition like 'R3/PT1H'",
        }.get(kind, "an ISO 8601 date-time with an offset like '2025-01-31T17:00:00+01:00'")
        return f"{kind} {value!r} is not {expected}"
    plain_iso = kind == "timeDate" and "W" not in value.upper()  # not an ISO week date
    if plain_iso and datetime.fromisoformat(value).tzinfo is None:
        return (
            f"timeDate {value!r} has no UTC offset, so it would be read in the server's "
            "zone: add one, e.g. +01:00"
        )
    return None


# --------------------------------------------------------------------------- tasks


def _properties(doc: _Document, task: Any) -> dict[str, Any]:
    """``spiffworkflow:property`` elements of a task by name (first wins), problems reported."""
    found: dict[str, Any] = {}
    for prop in doc.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", task):
        found.setdefault(prop.get("name"), prop)
    return found


def _check_clock_stoppers(docs: list[_Document], report: _Report) -> None:
    """A ``stops_clock`` property names a clock drawn on a timer of the bundle (any file):
    a misspelt one would leave that clock's stop where its timer puts it, silently."""
    drawn: set[str] = set()
    stoppers = []
    for doc in docs:
        for prop in doc.xpath(".//spiffworkflow:properties/spiffworkflow:property"):
            if prop.get("name") == "clock":
                drawn.add((prop.get("value") or "").strip())
            elif prop.get("name") == "stops_clock":
                stoppers.append((doc, prop))
    for doc, prop in stoppers:
        value = (prop.get("value") or "").strip()
        if value not in drawn:
            known = ", ".join(sorted(clock for clock in drawn if clock)) or "none"
            report.lint(doc, prop, f"stops_clock '{value}' names no clock of a timer (drawn: {known})")


def _check_tasks(
    doc: _Document,
    report: _Report,
    bundle: Bundle,
    handlers: HandlerRegistry,
    reserved: frozenset[str],
) -> set[str]:
    """Forms, handler names, property and parameter shape; returns the UI-schema form names."""
    ui_forms: set[str] = set()
    form_names = bundle.form_files

    for prop in doc.xpath(".//spiffworkflow:properties/spiffworkflow:property"):
        if prop.get("name") is None or prop.get("value") is None:
            report.lint(doc, prop, "a spiffworkflow:property needs both a name and a value")

    for task in doc.xpath(".//bpmn:userTask"):
        props = _properties(doc, task)
        form = props.get(FORM_PROPERTY)
        if form is None or not (form.get("value") or "").strip():
            report.lint(
                doc,
                task,
                f"user task has no form: add the spiffworkflow property {FORM_PROPERTY} "
                f"naming a file in {FORMS_DIR}/",
            )
        elif form.get("value") not in form_names:
            report.lint(
                doc,
                form,
                f"form '{form.get('value')}' is not in {FORMS_DIR}/ "
                f"(available: {', '.join(sorted(form_names)) or 'none'})",
            )
        ui_form = props.get(UI_FORM_PROPERTY)
        if ui_form is not None and ui_form.get("value"):
            ui_forms.add(ui_form.get("value"))
            if ui_form.get("value") not in form_names:
                report.lint(doc, ui_form, f"UI schema '{ui_form.get('value')}' is not in {FORMS_DIR}/")
        validator = props.get(VALIDATOR_PROPERTY)
        if validator is not None and validator.get("value") not in handlers.validators:
            report.lint(
                doc,
                validator,
                f"validator '{validator.get('value')}' is not registered "
                f"(known: {', '.join(sorted(handlers.validators)) or 'none'})",
            )

    for task in doc.xpath(".//bpmn:serviceTask"):
        for operator in doc.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", task):
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
                _check_variable(doc, report, operator, result, "resultVariable", reserved)
            for parameter in doc.xpath(".//spiffworkflow:parameter", operator):
                if parameter.get("value") is not None and (
                    not parameter.get("id") or not parameter.get("type")
                ):
                    report.lint(doc, parameter, "a service parameter needs an id and a type")

    for process in doc.xpath("./bpmn:process"):
        lanes = doc.xpath(".//bpmn:lane", process)
        if not lanes:
            continue
        in_lanes = {ref.text for ref in doc.xpath(".//bpmn:lane/bpmn:flowNodeRef", process)}
        for task in process.iter(*_HUMAN_TASK_TAGS):
            # Tasks inside a subprocess take the subprocess's lane (as SpiffWorkflow does).
            enclosing = [task, *task.iterancestors()]
            if not any(element.get("id") in in_lanes for element in enclosing):
                report.lint(doc, task, f"{_kind(task)} is in no lane, so nobody would be offered it")
    return ui_forms


# --------------------------------------------------------------------------- forms


def _load_forms(
    bundle: Bundle, report: _Report, ui_forms: set[str], reserved: frozenset[str]
) -> dict[str, dict[str, Any]]:
    forms: dict[str, dict[str, Any]] = {}
    for name, data in bundle.form_files.items():
        file = f"{FORMS_DIR}/{name}"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            report.add(file, line, None, "is not UTF-8 text")
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            report.add(file, error.lineno, None, f"not valid JSON: {error.msg} (column {error.colno})")
            continue
        if not isinstance(value, dict):
            report.add(file, 1, None, "a form must be a JSON object")
            continue
        forms[name] = value
        if name in ui_forms or name.endswith("uischema.json"):
            continue  # UI hints for the form renderer, not a JSON Schema
        _check_schema_document(file, text, value, report, reserved)
    return forms


def _check_schema_document(
    file: str, text: str, schema: dict[str, Any], report: _Report, reserved: frozenset[str]
) -> None:
    cls = validator_for(schema, default=None)
    if cls is None and "$schema" in schema:
        report.add(
            file,
            _json_line(text, ["$schema"]),
            None,
            f"unknown JSON Schema draft {schema['$schema']!r}",
        )
        return
    cls = cls or Draft202012Validator
    for error in sorted(
        cls(cls.META_SCHEMA).iter_errors(schema), key=lambda e: list(map(str, e.absolute_path))
    ):
        path = list(error.absolute_path)
        where = "/".join(str(part) for part in path) or "(top level)"
        report.add(
            file,
            _json_line(text, path),
            None,
            f"not a valid JSON Schema at {where}: {error.message}",
        )
    declared = schema.get("type", "object")
    if declared != "object" and not (isinstance(declared, list) and "object" in declared):
        report.add(file, _json_line(text, ["type"]), None, "a form's schema must describe an object")
    properties = schema.get("properties")
    if reserved and isinstance(properties, dict):
        for field_name in properties:
            if field_name in reserved:
                report.add(
                    file,
                    _json_line(text, ["properties", field_name]),
                    None,
                    f"field '{field_name}' is a name the engine provides to expressions; "
                    "task data may not shadow it, so rename the field",
                )


def _json_line(text: str, path: list[Any]) -> int:
    """Best-effort line of a key path in JSON text: each key searched after the previous one."""
    position = 0
    for part in path:
        if isinstance(part, str):
            match = re.compile(re.escape(json.dumps(part)) + r"\s*:").search(text, position)
            if match is None:
                break
            position = match.start()
    return text.count("\n", 0, position) + 1


# --------------------------------------------------------------------------- SpiffWorkflow


def _parse_processes(docs: list[_Document], report: _Report) -> tuple[dict[str, BpmnProcessSpec], set[str]]:
    """Parse the schema-valid files with SpiffWorkflow; returns (specs, all process ids seen)."""
    by_name = {doc.name: doc for doc in docs}
    known_ids = {
        process.get("id")
        for doc in docs
        for process in doc.xpath("./bpmn:process")
        if process.get("id") and process.get("isExecutable", "true") == "true"
    }
    parser = SpiffBpmnParser()  # the schema was checked already, with the same VALIDATOR
    for doc in docs:
        if not doc.schema_valid:
            continue
        try:
            parser.add_bpmn_xml(doc.root, doc.name)
        except ValidationException as error:
            _report_spiff_error(error, doc.name, by_name, report)
        except Exception as error:  # noqa: BLE001 - the library lets KeyErrors etc. escape
            report.add(doc.name, None, None, f"SpiffWorkflow cannot read this file: {error!r}")

    specs: dict[str, BpmnProcessSpec] = {}
    done: set[str] = set()
    while True:  # parsing a process registers its embedded subprocesses: loop until none is new
        pending = [
            process_id
            for process_id, process_parser in parser.process_parsers.items()
            if process_parser.process_executable and process_id not in done
        ]
        if not pending:
            break
        for process_id in pending:
            done.add(process_id)
            file_name = parser.process_parsers[process_id].filename or ""
            try:
                specs[process_id] = parser.get_spec(process_id)
            except ValidationException as error:
                _report_spiff_error(error, file_name, by_name, report)
            except Exception as error:  # noqa: BLE001
                line = by_name[file_name].line_of(process_id) if file_name in by_name else None
                report.add(file_name, line, process_id, f"SpiffWorkflow cannot parse it: {error!r}")
    return specs, known_ids


def _report_spiff_error(
    error: ValidationException, default_file: str, docs: Mapping[str, _Document], report: _Report
) -> None:
    file_name = error.file_name or default_file
    element_id = getattr(error, "id", "") or None
    if element_id and (file_name, element_id) in report.flagged:
        return  # a lint problem about this element was reported already, more plainly
    doc = docs.get(file_name)
    line = doc.line_of(element_id) if doc is not None else None
    if line is None and isinstance(getattr(error, "line_number", None), int):
        line = error.line_number
    message = error.args[0] if error.args else str(error)
    report.add(file_name, line, element_id, str(message))


def _check_call_activities(docs: list[_Document], report: _Report, process_ids: set[str]) -> None:
    for doc in docs:
        for call in doc.xpath(".//bpmn:callActivity"):
            called = call.get("calledElement")
            if not called:
                report.lint(doc, call, "the call activity names no process (calledElement)")
            elif called not in process_ids:
                report.lint(
                    doc,
                    call,
                    f"the call activity calls process '{called}', which no file of the bundle "
                    f"defines (processes: {', '.join(sorted(process_ids)) or 'none'})",
                )


# --------------------------------------------------------------------------- procedure.toml


def _check_config(bundle: Bundle, report: _Report) -> dict[str, Any] | None:
    data = bundle.config_bytes
    if data is None:
        report.add(CONFIG_NAME, None, None, f"the bundle has no {CONFIG_NAME}; it must name main_process")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        report.add(CONFIG_NAME, data.count(b"\n", 0, error.start) + 1, None, "is not UTF-8 text")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        line = None
        if position:
            message = message[: position.start()]
            line = int(position.group(1)) if position.group(1) else text.count("\n") + 1
        report.add(CONFIG_NAME, line, None, f"TOML syntax error: {message}")
        return None


def _check_main_process(
    bundle: Bundle,
    config: dict[str, Any] | None,
    report: _Report,
    docs: list[_Document],
) -> str | None:
    if config is None:
        return None
    lines = _toml_lines(bundle)
    value = config.get("main_process")
    line = lines.get(("main_process",))
    if value is None:
        report.add(CONFIG_NAME, None, None, "main_process is missing: name the process instances start on")
        return None
    if not isinstance(value, str) or not value:
        report.add(CONFIG_NAME, line, None, "main_process must be a process id (a string)")
        return None
    top_level: dict[str, tuple[_Document, Any]] = {
        process.get("id"): (doc, process) for doc in docs for process in doc.xpath("./bpmn:process")
    }
    if value not in top_level:
        available = ", ".join(sorted(pid for pid in top_level if pid)) or "none"
        report.add(
            CONFIG_NAME,
            line,
            None,
            f"main_process '{value}' is not a process of this bundle (processes: {available})",
        )
        return None
    doc, process = top_level[value]
    if process.get("isExecutable", "true") != "true":
        report.add(CONFIG_NAME, line, None, f"main_process '{value}' is not executable")
        return None
    return value


def _check_calendars(
    bundle: Bundle, config: dict[str, Any] | None, report: _Report
) -> dict[str, WorkingCalendar]:
    if config is None:
        return {}
    try:
        return calendars_from_config(config)
    except CalendarConfigError as error:
        line = _calendar_line(_toml_lines(bundle), error.calendar, error.field)
        report.add(
            CONFIG_NAME,
            line,
            None,
            f"calendar '{error.calendar}', field '{error.field}': {error.message}",
        )
    except Exception as error:  # noqa: BLE001 - a bad config must not crash a deployment
        report.add(CONFIG_NAME, None, None, f"the calendars cannot be read: {error}")
    return {}


def _check_domain_config(
    bundle: Bundle, config: dict[str, Any] | None, handlers: HandlerRegistry, report: _Report
) -> None:
    """The domain's own tables (registered checks), each problem at its key's line."""
    if config is None or not handlers.config_checks:
        return
    lines = _toml_lines(bundle)
    for check in handlers.config_checks:
        for path, message in check(config):
            key = tuple(path.split("."))
            while key and key not in lines:
                key = key[:-1]
            report.add(CONFIG_NAME, lines.get(key) if key else None, None, f"[{path}] {message}")


def _calendar_line(lines: Mapping[tuple[str, ...], int], calendar: str, field: str) -> int | None:
    if field.startswith("calendars"):
        path = tuple(re.sub(r"\[\d+\]", "", field).split("."))
    else:
        path = ("calendars", calendar, *re.sub(r"\[\d+\]", "", field).split("."))
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


_TOML_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_TOML_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _toml_lines(bundle: Bundle) -> dict[tuple[str, ...], int]:
    """Best-effort first line of every table and key path of procedure.toml, for messages."""
    text = (bundle.config_bytes or b"").decode("utf-8", errors="replace")
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header:
            table = _toml_key_path(header.group(1))
            found.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            found.setdefault((*table, *_toml_key_path(key.group(1))), number)
    return found


def _toml_key_path(dotted: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", dotted)
    return tuple(part[1:-1] if part[:1] in "\"'" else part for part in parts)
