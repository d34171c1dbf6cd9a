"""Reading the domain's tables of ``procedure.toml`` (the engine hands the parsed dict over).

The config is part of the deployed version, so every running complaint keeps the lists and
figures of the version it started on. Accessors fail with a sentence that names the table
and the key, because a missing figure is a deployment mistake the process owner must fix.

Tables (see ``bpmn/procedure.toml``):

* ``[branch]`` ``timezone``, ``complaint_number_prefix``
* ``[channels.<code>]`` C1: ``label``, ``escalation`` (bool), ``a5_required`` (form fields)
* ``[business_categories]`` C2 and ``[nature_categories]`` C3: code -> label
* ``[complaint_types]`` C5: code -> label
* ``[departments.<code>]``: ``label``, ``group``
* ``[dispatch_deadlines]`` L2 and ``[handling_deadlines]`` L4: order type -> ISO duration
* ``[reply_deadline]`` R4: ``calendar``, ``working_time``
* ``[priority]`` H1: order type -> inbox priority (higher sorts first)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from engine.calendar import WorkingCalendar, calendar_from_config

DEFAULT_TIMEZONE = "Asia/Shanghai"


class ConfigError(ValueError):
    """A table or key the procedure needs is missing from procedure.toml."""


def table(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name)
    if not isinstance(value, Mapping):
        raise ConfigError(f"procedure.toml has no [{name}] table")
    return value


def branch_zone(config: Mapping[str, Any]) -> ZoneInfo:
    branch = config.get("branch", {})
    return ZoneInfo(branch.get("timezone", DEFAULT_TIMEZONE))


def number_prefix(config: Mapping[str, Any]) -> str:
    return str(config.get("branch", {}).get("complaint_number_prefix", "TS"))


def codes(config: Mapping[str, Any], name: str) -> list[str]:
    """The codes of a list table (channels, categories, types, departments), in config order."""
    return list(table(config, name))


def channel(config: Mapping[str, Any], code: str) -> Mapping[str, Any] | None:
    entry = table(config, "channels").get(code)
    return entry if isinstance(entry, Mapping) else None


def department_groups(config: Mapping[str, Any]) -> dict[str, str]:
    """Department code -> the group offered its tasks; a department without a group is a config error."""
    groups = {}
    for code, entry in table(config, "departments").items():
        group = entry.get("group") if isinstance(entry, Mapping) else None
        if not isinstance(group, str) or not group.strip():
            raise ConfigError(f"[departments.{code}] has no group")
        groups[code] = group
    return groups


def priority(config: Mapping[str, Any], kind: str) -> int:
    figures = table(config, "priority")
    if kind not in figures:
        raise ConfigError(f"[priority] has no figure for order type {kind!r}")
    return int(figures[kind])


def reply_calendar(config: Mapping[str, Any]) -> tuple[WorkingCalendar, str]:
    """R4: the reply calendar and the working time allowed, from ``[reply_deadline]``."""
    settings = table(config, "reply_deadline")
    name = settings.get("calendar")
    calendars = config.get("calendars", {})
    if name not in calendars:
        raise ConfigError(f"[reply_deadline] calendar {name!r} is not a [calendars.<name>] table")
    return calendar_from_config(name, calendars[name]), str(settings.get("working_time", "PT2H"))
