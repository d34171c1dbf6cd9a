"""Checking submitted fields against a user task's JSON Schema, with errors keyed by field.

A form's validator is compiled once per deployed version (forms are versioned with
their diagrams), so a submission costs only the check itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema

REQUIRED_MESSAGE = "this field is required"
WHOLE_FORM = "_form"


class FormChecker:
    def __init__(self, schema: Mapping[str, Any]) -> None:
        validator_class = jsonschema.validators.validator_for(schema)
        self._validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)

    def errors(self, submitted: Mapping[str, Any]) -> dict[str, str]:
        """``{field path: message}``, the first message per field; empty when valid."""
        found: dict[str, str] = {}
        for error in self._validator.iter_errors(submitted):
            path = [str(part) for part in error.absolute_path]
            if error.validator == "required":
                for name in error.validator_value:
                    if isinstance(error.instance, Mapping) and name not in error.instance:
                        found.setdefault(".".join([*path, name]), REQUIRED_MESSAGE)
            else:
                found.setdefault(".".join(path) or WHOLE_FORM, error.message)
        return found
