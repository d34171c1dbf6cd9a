"""A user task's JSON Schema as HTML form fields, and a submitted HTML form back as typed data.

The forms are flat objects (the procedure's forms are): strings (text, long text,
date, date-time, e-mail), numbers, booleans, one choice from a list (``enum`` or
``oneOf`` of ``const``/``title``) and several choices from a list (an array of such
strings). The schema stays the single definition: the engine validates the typed
data against it, this module only translates between the schema and the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any

from flask_babel import gettext

LONG_TEXT = 200  # strings allowed to be longer than this get a text area


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str
    widget: str  # text, textarea, number, integer, checkbox, select, checkboxes, date, datetime, email
    required: bool
    choices: tuple[Choice, ...] = field(default_factory=tuple)
    max_length: int | None = None


def fields_of(schema: Mapping[str, Any]) -> list[Field]:
    required = set(schema.get("required", ()))
    return [_field(name, spec, name in required) for name, spec in (schema.get("properties") or {}).items()]


def _field(name: str, spec: Mapping[str, Any], required: bool) -> Field:
    label = spec.get("title") or name
    help_text = spec.get("description", "")
    kind = spec.get("type")
    if kind == "array":
        return Field(name, label, help_text, "checkboxes", required, _choices(spec.get("items") or {}))
    choices = _choices(spec)
    if choices:
        return Field(name, label, help_text, "select", required, choices)
    if kind == "boolean":
        return Field(name, label, help_text, "checkbox", required)
    if kind in ("number", "integer"):
        return Field(name, label, help_text, kind, required)
    widget = {"date": "date", "date-time": "datetime", "email": "email"}.get(spec.get("format", ""), "text")
    max_length = spec.get("maxLength")
    if widget == "text" and "pattern" not in spec and (max_length is None or max_length > LONG_TEXT):
        widget = "textarea"  # free text; a patterned value (a phone, a code) stays one line
    return Field(name, label, help_text, widget, required, max_length=max_length)


def with_open_choices(fields: list[Field], choices: tuple[Choice, ...]) -> list[Field]:
    """A list field whose schema names no choices (H4 evidence references) offers ``choices``:
    the files uploaded on the task page, so people tick them rather than copy SHA-256 digests."""
    return [
        replace(item, choices=choices) if item.widget == "checkboxes" and not item.choices else item
        for item in fields
    ]


def _choices(spec: Mapping[str, Any]) -> tuple[Choice, ...]:
    if "enum" in spec:
        return tuple(Choice(str(value), str(value)) for value in spec["enum"])
    if "oneOf" in spec:
        return tuple(
            Choice(str(option["const"]), str(option.get("title", option["const"])))
            for option in spec["oneOf"]
            if "const" in option
        )
    return ()


def parse_submission(
    schema: Mapping[str, Any], form: Any, zone: tzinfo
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed data for the engine, and the fields whose text is not even of the right type.

    ``form`` is a werkzeug MultiDict. Empty optional fields are left out, so the
    schema's own rules (required, formats) decide; a checkbox absent means false. A
    browser's date-time has no offset: it is read in ``zone`` (the pages' zone).
    """
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in fields_of(schema):
        if item.widget == "checkbox":
            data[item.name] = form.get(item.name) in ("on", "true", "1")
        elif item.widget == "checkboxes":
            values = form.getlist(item.name)
            if values or item.required:
                data[item.name] = values
        else:
            text = (form.get(item.name) or "").strip()
            if not text:
                continue
            if item.widget in ("number", "integer"):
                try:
                    data[item.name] = int(text) if item.widget == "integer" else float(text)
                except ValueError:
                    errors[item.name] = gettext("enter a number")
            elif item.widget == "datetime":
                try:
                    data[item.name] = with_offset(text, zone)
                except ValueError:
                    errors[item.name] = gettext("enter a date and time, e.g. 2026-12-06 18:00")
            else:
                data[item.name] = text
    return data, errors


def with_offset(text: str, zone: tzinfo) -> str:
    """An instant typed or picked without an offset ("2026-12-06 18:00", the browser's
    ``datetime-local``) is read in ``zone``; one with an offset keeps it."""
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)).isoformat()


def display_values(
    schema: Mapping[str, Any], values: Mapping[str, Any], zone: tzinfo | None = None
) -> dict[str, Any]:
    """What to show in each field: the typed-in value, else the schema's default.

    A date-time is shown as the browser's picker takes it: local to ``zone``, no offset.
    """
    shown = {}
    widgets = {item.name: item.widget for item in fields_of(schema)}
    for name, spec in (schema.get("properties") or {}).items():
        if name in values:
            shown[name] = values[name]
        elif "default" in spec:
            shown[name] = spec["default"]
        if zone is not None and widgets.get(name) == "datetime" and isinstance(shown.get(name), str):
            shown[name] = _picker_value(shown[name], zone)
    return shown


def _picker_value(text: str, zone: tzinfo) -> str:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text  # shown as typed, with its error
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone)
    return f"{parsed:%Y-%m-%dT%H:%M}"
