"""L7: the share of a clock's span after which it is about to breach, and its warning instant.

One rule for every reader (inbox colour, complaint page, warning sweep, at-risk report): the
instant is computed once, when the clock row is written (``tasks.clocks``), from the
``[warnings]`` share of the version the complaint runs on. A clock whose figure runs on a
working-time calendar (``calendar`` in its procedure.toml table, R4) warns after that share
of its *working* time, so a lunch break or a night does not count as time used up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.calendar import WorkingCalendar, calendars_from_config

DEFAULT_FRACTION = 0.75
CONFIG_TABLE = "warnings"

_CALENDARS: dict[int, tuple[Mapping[str, Any], dict[str, WorkingCalendar]]] = {}


def fraction(config: Mapping[str, Any], clock: str) -> float:
    """The share of ``clock``'s span after which it is about to breach (checked at deploy)."""
    table = config.get(CONFIG_TABLE) or {}
    value = table.get(clock, table.get("default", DEFAULT_FRACTION))
    return float(value)


def warn_at(
    config: Mapping[str, Any], clock: str, figure: str | None, start: datetime, due: datetime
) -> datetime:
    """When ``clock`` (started ``start``, due ``due``) is about to breach."""
    start = min(start, due)
    share = fraction(config, clock)
    calendar = _calendar_of(config, figure)
    if calendar is None:
        return start + (due - start) * share
    return calendar.add(start, calendar.between(start, due) * share)


def _calendar_of(config: Mapping[str, Any], figure: str | None) -> WorkingCalendar | None:
    table = config.get(figure.split(".")[0]) if figure else None
    name = table.get("calendar") if isinstance(table, Mapping) else None
    if not name:
        return None
    cached = _CALENDARS.get(id(config))
    if cached is None or cached[0] is not config:
        cached = _CALENDARS[id(config)] = (config, calendars_from_config(config))
    return cached[1].get(name)
