"""Step 5, forms: every file of ``forms/`` is UTF-8 JSON, and every form a valid JSON Schema
of an object whose fields do not shadow the names the engine gives expressions."""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from engine.bundle import FORMS_DIR, Bundle
from engine.validation.problems import Report


def load_forms(
    bundle: Bundle, report: Report, ui_forms: set[str], reserved: frozenset[str]
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
    file: str, text: str, schema: dict[str, Any], report: Report, reserved: frozenset[str]
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
