"""Step 7, SpiffWorkflow's own parser over all files at once, so call activities resolve.

Its semantic errors carry an element id but no line (``ValidationException`` reads a
``line_number`` attribute lxml elements do not have): the line is looked up here.
"""

from __future__ import annotations

from collections.abc import Mapping

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.validation.problems import Document, Report


def parse_processes(docs: list[Document], report: Report) -> tuple[dict[str, BpmnProcessSpec], set[str]]:
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
    error: ValidationException, default_file: str, docs: Mapping[str, Document], report: Report
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


def check_call_activities(docs: list[Document], report: Report, process_ids: set[str]) -> None:
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
