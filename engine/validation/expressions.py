"""Step 4, expressions: every Python expression and script compiled as the script engine runs it.

``eval`` strips leading spaces and tabs, ``exec`` does not; the sandbox's policy
(``engine.sandbox_policy``: no ``_`` names, only whitelisted builtins and attributes, no
functions, imports, ``while`` or ``try``, no constant too large) applies; each refusal is
pinned to its element and line. Timer literals are checked too.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import sandbox_policy
from engine.property_names import EXPRESSION_PROPERTIES
from engine.validation.problems import Document, Report

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

# Elements whose text is code: (XPath, compile mode, what an author calls it, may it be blank).
_CODE_ELEMENTS = (
    (".//bpmn:sequenceFlow/bpmn:conditionExpression", "eval", "the condition", False),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "eval", "the event condition", False),
    (".//bpmn:loopCondition", "eval", "the loop condition", False),
    (".//bpmn:loopCardinality", "eval", "the loop cardinality", False),
    (".//bpmn:completionCondition", "eval", "the completion condition", False),
    (".//bpmn:scriptTask/bpmn:script", "exec", "the script", False),
    (".//bpmn:extensionElements/spiffworkflow:preScript", "exec", "the pre-script", True),
    (".//bpmn:extensionElements/spiffworkflow:postScript", "exec", "the post-script", True),
    (".//spiffworkflow:messagePayload", "eval", "the message payload", True),
    (".//spiffworkflow:payloadExpression", "eval", "the payload expression", True),
    (
        ".//spiffworkflow:processVariableCorrelation/spiffworkflow:expression",
        "eval",
        "the correlation expression",
        False,
    ),
    (
        ".//bpmn:correlationPropertyRetrievalExpression/*[self::bpmn:formalExpression"
        " or self::bpmn:messagePath]",
        "eval",
        "the correlation retrieval expression",
        False,
    ),
)
_TIMERS = (
    ".//bpmn:timerEventDefinition/bpmn:timeDate"
    " | .//bpmn:timerEventDefinition/bpmn:timeDuration"
    " | .//bpmn:timerEventDefinition/bpmn:timeCycle"
)


def check_expressions(doc: Document, report: Report, reserved: frozenset[str]) -> None:
    """Every piece of code in one file: element texts, timers, attributes, variable names."""
    for path, mode, what, may_be_blank in _CODE_ELEMENTS:
        for element in doc.xpath(path):
            if may_be_blank and not (element.text and element.text.strip()):
                continue
            check_code(doc, report, element, element.text, mode, what, reserved)
    for script_task in doc.xpath(".//bpmn:scriptTask[not(bpmn:script)]"):
        report.lint(doc, script_task, "the script task has no script")
    for timer in doc.xpath(_TIMERS):
        _check_timer(doc, report, timer, reserved)
    _check_attribute_code(doc, report, reserved)
    for name in ("messageVariable", "variableName"):
        for element in doc.xpath(f".//spiffworkflow:{name}"):
            check_variable(doc, report, element, (element.text or "").strip(), name, reserved)


def _check_attribute_code(doc: Document, report: Report, reserved: frozenset[str]) -> None:
    """Code held in attributes: service parameters and the expression properties of tasks."""
    for parameter in doc.xpath(".//spiffworkflow:serviceTaskOperator//spiffworkflow:parameter"):
        value = parameter.get("value")
        if value is not None:
            what = f"service parameter '{parameter.get('id')}'"
            check_code(doc, report, parameter, value, "eval", what, reserved)
    for prop in doc.xpath(".//spiffworkflow:properties/spiffworkflow:property"):
        what = EXPRESSION_PROPERTIES.get(prop.get("name") or "")
        if what is not None and prop.get("value") is not None:
            check_code(doc, report, prop, prop.get("value"), "eval", what, reserved)


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


def check_code(
    doc: Document,
    report: Report,
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


def check_variable(
    doc: Document, report: Report, element: Any, name: str, what: str, reserved: frozenset[str]
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


def _check_timer(doc: Document, report: Report, element: Any, reserved: frozenset[str]) -> None:
    kind = etree.QName(element).localname
    text = element.text
    if text is None or not text.strip():
        report.lint(doc, element, "the timer has no expression")
        return
    stripped = text.strip()
    if _BARE_ISO.match(stripped) and stripped not in reserved:
        report.lint(doc, element, TIMER_QUOTES_MESSAGE)
        return
    if not check_code(doc, report, element, text, "eval", "the timer expression", reserved):
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
