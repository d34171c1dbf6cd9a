"""Step 6, ``procedure.toml``: syntax, ``main_process``, working-time calendars and the
domain's registered checks, each problem at its key's line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from engine.bundle import CONFIG_NAME, Bundle
from engine.calendar import CalendarConfigError, WorkingCalendar, calendars_from_config
from engine.handlers import HandlerRegistry
from engine.validation.problems import Document, Report

_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


def check_config(bundle: Bundle, report: Report) -> dict[str, Any] | None:
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


def check_main_process(
    bundle: Bundle,
    config: dict[str, Any] | None,
    report: Report,
    docs: list[Document],
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
    top_level: dict[str, tuple[Document, Any]] = {
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


def check_calendars(
    bundle: Bundle, config: dict[str, Any] | None, report: Report
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


def check_domain_config(
    bundle: Bundle, config: dict[str, Any] | None, handlers: HandlerRegistry, report: Report
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
