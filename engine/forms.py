"""Checking submitted fields against a user task's JSON Schema, with errors keyed by field.

A form's validator is compiled once per deployed version (forms are versioned with
their diagrams), so a submission costs only the check itself. jsonschema's own
messages are English sentences about Python values; a person gets one of the short
messages below instead (:class:`engine.messages.Message`, translated by the web layer).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jsonschema

from engine.messages import N_, Message

REQUIRED_MESSAGE = N_("this field is required")
WHOLE_FORM = "_form"

_FORMAT_MESSAGES = {
    "date-time": N_("enter a date and time"),
    "date": N_("enter a date"),
    "time": N_("enter a time"),
    "email": N_("enter an e-mail address"),
}


class FormChecker:
    def __init__(self, schema: Mapping[str, Any]) -> None:
        validator_class = jsonschema.validators.validator_for(schema)
        self._validator = validator_class(schema, format_checker=_format_checker(validator_class))

    def errors(self, submitted: Mapping[str, Any]) -> dict[str, str]:
        """``{field path: message}``, the first message per field; empty when valid."""
        found: dict[str, str] = {}
        for error in self._validator.iter_errors(submitted):
            path = [str(part) for part in error.absolute_path]
            if error.validator == "required":
                for name in error.validator_value:
                    if isinstance(error.instance, Mapping) and name not in error.instance:
                        found.setdefault(".".join([*path, name]), REQUIRED_MESSAGE)
            elif error.validator == "dependentRequired":
                for name in _missing_dependants(error):
                    found.setdefault(".".join([*path, name]), REQUIRED_MESSAGE)
            else:
                found.setdefault(".".join(path) or WHOLE_FORM, person_message(error))
        return found


def _format_checker(validator_class: Any) -> jsonschema.FormatChecker:
    """The draft's formats, but ``date-time`` as people and the procedure write an instant:
    ISO 8601 with its offset, seconds optional (``2026-12-06T18:00+08:00``)."""
    checker = jsonschema.FormatChecker(validator_class.FORMAT_CHECKER.checkers)
    checker.checks("date-time", raises=ValueError)(_is_instant)
    return checker


def _is_instant(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type keyword judges other values
    return datetime.fromisoformat(value).tzinfo is not None


def _missing_dependants(error: jsonschema.ValidationError) -> list[str]:
    instance, wanted = error.instance, error.validator_value
    if not isinstance(instance, Mapping) or not isinstance(wanted, Mapping):
        return []
    return [
        name for key, names in wanted.items() if key in instance for name in names if name not in instance
    ]


def person_message(error: jsonschema.ValidationError) -> Message:
    """What the person filling in the form is told, by the kind of rule the value broke."""
    kind, limit = error.validator, error.validator_value
    if kind in ("enum", "const"):
        return N_("choose one of the offered values")
    if kind == "type":
        return N_("this value is not of the expected kind (%(expected)s)", expected=limit)
    if kind == "maxLength":
        return N_("at most %(limit)s characters", limit=limit)
    if kind == "minLength":
        return N_("at least %(limit)s characters", limit=limit) if limit > 1 else REQUIRED_MESSAGE
    if kind in ("maximum", "exclusiveMaximum"):
        return N_("at most %(limit)s", limit=limit)
    if kind in ("minimum", "exclusiveMinimum"):
        return N_("at least %(limit)s", limit=limit)
    if kind == "maxItems":
        return N_("choose at most %(limit)s", limit=limit)
    if kind == "minItems":
        return N_("choose at least %(limit)s", limit=limit)
    if kind == "format":
        return _FORMAT_MESSAGES.get(str(limit), N_("this value does not have the expected form"))
    if kind == "pattern":
        return N_("this value does not have the expected form")
    if kind in ("additionalProperties", "unevaluatedProperties"):
        return N_("the form sent a field it does not have")
    return N_("this value is not accepted here")
