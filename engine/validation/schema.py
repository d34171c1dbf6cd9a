"""Steps 2-3: duplicate ids, and SpiffWorkflow's BPMN XSD with every error reported.

The library's own validator raises only the *last* schema error of a file
(``BpmnValidator.validate``); running its schema here reports all of them.
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.validation.problems import ID_NAMESPACES, Document, Report, namespace, short_tag


def check_duplicate_ids(doc: Document, report: Report) -> set[int]:
    first_line: dict[str, int] = {}
    lines: set[int] = set()
    for element in doc.root.iter():
        if namespace(element) not in ID_NAMESPACES:
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


def check_schema(doc: Document, report: Report, duplicate_lines: set[int]) -> bool:
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
        report.add(doc.name, line, element_id, f"does not match the BPMN schema: {short_tag(message)}")
    return False


def _element_at(doc: Document, path: str | None, line: int | None) -> Any:
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
