"""What diagram expressions may call besides task data: time and working-time helpers.

Timer expressions must return ISO 8601 strings with an explicit offset (a naive
``timeDate`` is read in the server's zone by SpiffWorkflow), so every helper that
yields an instant for a timer returns such a string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.calendar import WorkingCalendar, parse_duration
from engine.spiff import current_now

ENGINE_FUNCTION_NAMES = ("now", "due_in", "working_due", "working_time_between", "parse_instant")


def expression_globals(
    calendars: Mapping[str, WorkingCalendar],
    extra: Mapping[str, Callable[..., Any]] | None = None,
) -> dict[str, Any]:
    def calendar(name: str) -> WorkingCalendar:
        try:
            return calendars[name]
        except KeyError:
            known = ", ".join(sorted(calendars)) or "none"
            raise ValueError(f"no working-time calendar named {name!r} (known: {known})") from None

    def now() -> datetime:
        """The engine clock's current instant (simulated in tests)."""
        return current_now()

    def due_in(duration: str, start: str | datetime | None = None) -> str:
        """``start`` (default now) plus a plain ISO duration, as an ISO string with offset."""
        return (_instant(start) + parse_duration(duration)).isoformat()

    def working_due(calendar_name: str, duration: str, start: str | datetime | None = None) -> str:
        """``duration`` of working time on the named calendar after ``start`` (default now)."""
        return calendar(calendar_name).add(_instant(start), parse_duration(duration)).isoformat()

    def working_time_between(calendar_name: str, start: str | datetime, end: str | datetime) -> float:
        """Working seconds between two instants on the named calendar."""
        return calendar(calendar_name).between(_instant(start), _instant(end)).total_seconds()

    helpers: dict[str, Any] = {
        "now": now,
        "due_in": due_in,
        "working_due": working_due,
        "working_time_between": working_time_between,
        "parse_instant": _instant,
        "timedelta": timedelta,
    }
    for name, function in (extra or {}).items():
        if name in helpers:
            raise ValueError(f"function {name!r} is provided by the engine already")
        helpers[name] = function
    return helpers


def _instant(value: str | datetime | None = None) -> datetime:
    if value is None:
        return current_now()
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        raise ValueError(f"instant {value!r} has no offset: give one, e.g. +08:00")
    return instant
