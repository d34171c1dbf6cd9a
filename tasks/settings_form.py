"""The procedure's settings as the owner's forms: read from and written to procedure.toml (issue 17).

The settings tab of the modeler shows deadline figures per clock and order type, warning
shares, departments, channels and categories with their labels, lanes to groups and the
working-time calendars. The page never sees TOML: it gets :func:`read_settings` as JSON and
sends back edits (``{"op": "set", "path": [...], "value": ...}``), which
:func:`apply_edits` checks field by field and writes into the text with ``engine.toml_edit``
(comments and order kept). A refused edit raises :class:`SettingsError` naming the field,
so the page can mark it; the diagram's timer labels are then recomputed from the new text by
the same labeller the deploy uses (``tasks.timer_figures``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine import toml_edit
from engine.calendar import WEEKDAYS, CalendarConfigError, calendar_from_config
from engine.timer_labels import DeadlineTimer, LabelError
from tasks.timer_figures import ON_ORDER, duration_words, figure_words
from tasks.timer_figures import _parts as duration_parts

LIST_TABLES = ("business_categories", "nature_categories")  # C2, C3: code -> label
ENTRY_TABLES = {"departments": ("label", "group"), "channels": ("label", "escalation", "a5_required")}
_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


class SettingsError(ValueError):
    """An edit the settings form refuses; ``field`` is the dotted path the page marks."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --------------------------------------------------------------------------- reading


def read_settings(
    config: Mapping[str, Any], timers: Iterable[DeadlineTimer], lanes: Iterable[str] = ()
) -> dict:
    """Everything the settings tab shows, as JSON-ready data (paths are procedure.toml keys)."""
    return {
        "figures": _figures(config, timers),
        "warnings": _warnings(config),
        "departments": [
            {"key": key, "label": str(entry.get("label", "")), "group": str(entry.get("group", ""))}
            for key, entry in _table(config, "departments").items()
            if isinstance(entry, Mapping)
        ],
        "channels": [
            {"key": key, "label": str(entry.get("label", "")), "escalation": bool(entry.get("escalation"))}
            for key, entry in _table(config, "channels").items()
            if isinstance(entry, Mapping)
        ],
        "categories": {
            name: [{"key": key, "label": str(label)} for key, label in _table(config, name).items()]
            for name in LIST_TABLES
        },
        "lanes": _lanes(config, lanes),
        "figure_keys": figure_keys(config),
        "clocks": list(CLOCK_ORDER),
        "calendars": {
            name: _calendar(table)
            for name, table in _table(config, "calendars").items()
            if isinstance(table, Mapping)
        },
    }


def _table(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name)
    return value if isinstance(value, Mapping) else {}


def _figures(config: Mapping[str, Any], timers: Iterable[DeadlineTimer]) -> list[dict]:
    """One entry per figure, with the clocks showing it, in the order the timers come."""
    entries: dict[str, dict] = {}
    for timer in timers:
        if not timer.figure:
            continue
        entry = entries.get(timer.figure)
        if entry is None:
            entry = entries[timer.figure] = {
                "figure": timer.figure,
                "clocks": [],
                "fields": _fields(config, timer.figure),
            }
        if timer.clock not in entry["clocks"]:
            entry["clocks"].append(timer.clock)
    return sorted(entries.values(), key=lambda entry: _clock_order(entry["clocks"][0]))


CLOCK_ORDER = ("L1", "L2", "L3", "L4", "R4", "L6", "T7", "T1", "E3", "E4", "R3")  # as the procedure runs


def figure_keys(config: Mapping[str, Any]) -> list[str]:
    """Every procedure.toml key a deadline timer can show (the panel's choice of figure)."""
    keys = []
    for key, value in config.items():
        if not isinstance(value, Mapping):
            continue
        try:
            figure_words(config, "", key)
        except LabelError:
            for leaf, item in value.items():
                if isinstance(item, str) and _seconds_or_none(item) is not None:
                    keys.append(f"{key}.{leaf}")
        else:
            keys.append(key)
    return [*keys, ON_ORDER]


def _clock_order(clock: str) -> tuple[int, str]:
    return (CLOCK_ORDER.index(clock) if clock in CLOCK_ORDER else len(CLOCK_ORDER), clock)


def _fields(config: Mapping[str, Any], figure: str) -> list[dict]:
    if figure == ON_ORDER:
        return []
    parts = figure.split(".")
    value: Any = config
    for part in parts:
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [_duration_field(parts, value, "calendar")]
    if not isinstance(value, Mapping):
        return []
    fields = []
    time = "working" if "calendar" in value else "calendar"
    for key, item in value.items():
        if key == "attempts":
            fields.append({"path": [*parts, key], "key": key, "kind": "count", "value": item})
        elif key != "calendar" and isinstance(item, str):
            field = _duration_field([*parts, key], item, time)
            if time == "working":
                field["calendar"] = value.get("calendar")
            fields.append(field)
    return fields


def _duration_field(path: Sequence[str], text: str, time: str) -> dict:
    seconds = _seconds_or_none(text)
    return {
        "path": list(path),
        "key": path[-1],
        "kind": "duration",
        "value": text,
        "time": time,
        "hours": None if seconds is None else seconds // 3600,
        "minutes": None if seconds is None else seconds % 3600 // 60,
    }


def _seconds_or_none(text: str) -> int | None:
    try:
        days, seconds = duration_parts(text)  # the labeller's own reading of a duration
        return days * 86400 + seconds
    except LabelError:
        return None


def _warnings(config: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key): value for key, value in _table(config, "warnings").items()}


def _lanes(config: Mapping[str, Any], lanes: Iterable[str]) -> list[dict]:
    mapped = _table(config, "lanes")
    names = list(mapped) + [name for name in lanes if name not in mapped]
    return [{"lane": name, "group": str(mapped.get(name, ""))} for name in names]


def _calendar(table: Mapping[str, Any]) -> dict:
    return {
        "timezone": table.get("timezone", ""),
        "windows": list(table.get("windows", [])),
        "days": list(table.get("days", WEEKDAYS)),
        "weekly": {str(day): list(windows) for day, windows in dict(table.get("weekly", {})).items()},
        "holidays": [str(day) for day in table.get("holidays", [])],
        "extra_working_days": [str(day) for day in table.get("extra_working_days", [])],
    }


# --------------------------------------------------------------------------- writing


def apply_edits(text: str, edits: Sequence[Mapping[str, Any]], timers: Iterable[DeadlineTimer]) -> str:
    """``text`` with every edit made, or SettingsError naming the first refused field."""
    figures = {timer.figure for timer in timers if timer.figure and timer.figure != ON_ORDER}
    for edit in edits:
        text = _apply(text, edit, figures)
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # defensive: toml_edit checks every edit
        raise SettingsError("procedure.toml", str(error)) from None
    for figure in sorted(figures):
        try:
            figure_words(config, "", figure)
        except LabelError as error:
            raise SettingsError(figure, str(error)) from None
    return text


def _apply(text: str, edit: Mapping[str, Any], figures: set[str]) -> str:
    op = edit.get("op", "set")
    path = edit.get("path")
    if not isinstance(path, list) or not path or not all(isinstance(part, str) and part for part in path):
        raise SettingsError("path", "an edit needs a path of procedure.toml keys")
    field = ".".join(path)
    try:
        if op == "set":
            value = _checked_value(path, edit.get("value"), figures)
            text = toml_edit.set_value(text, path[:-1], path[-1], value)
            if path[0] == "calendars":
                check_calendar(text, path[1])
            return text
        if op == "remove":
            _require_removable(path)
            if len(path) == 2 and path[0] in ENTRY_TABLES:
                return toml_edit.remove_table(text, path)
            return toml_edit.remove_key(text, path[:-1], path[-1])
        if op == "add":
            return _add(text, path, edit.get("value"))
    except toml_edit.TomlEditError as error:
        raise SettingsError(field, str(error)) from None
    raise SettingsError("op", f"unknown edit {op!r}; expected set, add or remove")


def _checked_value(path: list[str], value: Any, figures: set[str]) -> Any:
    field = ".".join(path)
    head = path[0]
    if any(field == figure or field.startswith(figure + ".") for figure in figures):
        if path[-1] == "attempts":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SettingsError(field, "must be a whole number of at least 1")
            return value
        return _duration(field, value)
    if head == "warnings" and len(path) == 2:
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
            raise SettingsError(field, "a warning share is between 0 and 1, e.g. 0.75 (75 %)")
        return float(value)
    if head in LIST_TABLES and len(path) == 2 or head == "lanes" and len(path) == 2:
        return _text(field, value)
    if head in ENTRY_TABLES and len(path) == 3 and path[2] in ENTRY_TABLES[head]:
        if path[2] == "escalation":
            if not isinstance(value, bool):
                raise SettingsError(field, "must be yes or no")
            return value
        if path[2] == "a5_required":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise SettingsError(field, "must be a list of form field names")
            return value
        return _text(field, value)
    if head == "calendars" and len(path) == 3:
        return value
    raise SettingsError(field, "is not a setting this form edits")


def _duration(field: str, value: Any) -> str:
    try:
        duration_words(value)
    except LabelError as error:
        raise SettingsError(field, str(error)) from None
    return str(value)


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(field, "must not be empty")
    return value.strip()


def _require_removable(path: list[str]) -> None:
    removable = (
        (path[0] in LIST_TABLES and len(path) == 2)
        or (path[0] in ENTRY_TABLES and len(path) == 2)
        or (path[0] == "warnings" and len(path) == 2 and path[1] != "default")
        or (path[0] == "lanes" and len(path) == 2)
    )
    if not removable:
        raise SettingsError(".".join(path), "cannot be removed here")


def _add(text: str, path: list[str], value: Any) -> str:
    """A new department or channel (``[departments.<code>]``) or category (``code = label``)."""
    field = ".".join(path)
    if len(path) != 2 or not path[1] or not set(path[1]) <= _CODE_CHARS:
        raise SettingsError(field, "a code is lower-case letters, digits and _ (e.g. legal_affairs)")
    head, code = path
    current = tomllib.loads(text).get(head, {})
    if code in current:
        raise SettingsError(field, f"{code!r} exists already")
    if head in LIST_TABLES:
        return toml_edit.set_value(text, [head], code, _text(field, value))
    if head in ENTRY_TABLES:
        if not isinstance(value, Mapping):
            raise SettingsError(field, "needs its label and group")
        values = {"label": _text(f"{field}.label", value.get("label"))}
        if head == "departments":
            values["group"] = _text(f"{field}.group", value.get("group"))
        else:
            values.update(escalation=bool(value.get("escalation")), a5_required=[])
        return toml_edit.add_table(text, path, values)
    raise SettingsError(field, "only departments, channels and categories are added here")


def check_calendar(text: str, name: str) -> None:
    """SettingsError naming ``calendars.<name>.<field>`` when the calendar would not load."""
    table = tomllib.loads(text).get("calendars", {}).get(name)
    if not isinstance(table, Mapping):
        raise SettingsError(f"calendars.{name}", "there is no such calendar")
    try:
        calendar_from_config(name, table)
    except CalendarConfigError as error:
        raise SettingsError(f"calendars.{name}.{error.field}", error.message) from None
