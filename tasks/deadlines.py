"""Deadline arithmetic of the procedure: plain functions, no engine, no database.

Every function takes the instants and figures it needs as arguments, so each rule can be
unit-tested on its own and the service operations (``tasks/operations.py``) stay thin.

Conventions:

* Instants are timezone-aware ``datetime`` objects or ISO 8601 strings *with* an offset;
  a naive value is refused (``ValueError``): a deadline read in the server's zone is wrong.
* Results are ISO 8601 strings in the branch's zone (``[branch] timezone``), because they go
  into task data and into ``timeDate`` timer expressions, which need an explicit offset.
* The clock is never read here: callers pass ``now`` (the engine clock), so simulated time
  in tests and replays gives the same answers as real time.

Rule ids: H1 (urgency), L2 (review and dispatch), L4 (department handling), R4/L5 (reply to
the customer in working time), L7 (every deadline measured: met or missed, by how much).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from engine.calendar import WorkingCalendar, parse_duration

__all__ = [
    "ORDINARY",
    "URGENT",
    "URGENT_TYPES",
    "breach_record",
    "deadline_outcome",
    "dispatch_due",
    "handling_due",
    "instant",
    "order_type",
    "reply_due",
]

ORDINARY = "ordinary"
URGENT = "urgent"

URGENT_TYPES = frozenset({"major", "repeat", "batch", "escalated", "over_head"})
"""H1 / C5: a complaint carrying any of these type flags is urgent (handled first, L2 30 min)."""


def instant(value: str | datetime) -> datetime:
    """An aware datetime from an ISO string or a datetime; naive values are refused."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        raise TypeError(f"expected an ISO 8601 instant, got {type(value).__name__}")
    if parsed.tzinfo is None:
        raise ValueError(f"instant {value!r} has no UTC offset; give one, e.g. +08:00")
    return parsed


def instant_or_none(value: Any) -> datetime | None:
    """What the data holds at an instant's place: a datetime, an ISO string, or nothing yet."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def _iso(value: datetime, zone: tzinfo | None) -> str:
    return (value.astimezone(zone) if zone is not None else value).isoformat()


def order_type(complaint_types: Iterable[str]) -> str:
    """H1: ``"urgent"`` if any flag is major, repeat, batch, escalated (升级) or over_head (越级),
    else ``"ordinary"``."""
    return URGENT if URGENT_TYPES.intersection(complaint_types) else ORDINARY


def _figure(table: Mapping[str, Any], kind: str, what: str) -> timedelta:
    try:
        text = table[kind]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise ValueError(f"{what}: no figure for order type {kind!r} (configured: {known})") from None
    return parse_duration(text)


def dispatch_due(
    accepted_at: str | datetime,
    kind: str,
    table: Mapping[str, str],
    zone: ZoneInfo | None = None,
) -> str:
    """L2: acceptance plus the review-and-dispatch limit for the order type (plain elapsed time).

    ``table`` maps order type to an ISO duration, e.g. ``{"ordinary": "PT2H", "urgent": "PT30M"}``.
    """
    return _iso(instant(accepted_at) + _figure(table, kind, "L2 dispatch_deadlines"), zone)


def handling_due(
    dispatched_at: str | datetime,
    kind: str,
    table: Mapping[str, str],
    zone: ZoneInfo | None = None,
) -> str:
    """L4: the handling deadline written on the work order at dispatch (plain elapsed time).

    Computed once, at dispatch; rework after a return (E5) keeps it, so nothing recomputes it.
    """
    return _iso(instant(dispatched_at) + _figure(table, kind, "L4 handling_deadlines"), zone)


def reply_due(received_at: str | datetime, calendar: WorkingCalendar, working_time: str) -> str:
    """R4 / L5: ``working_time`` of the reply calendar after the valid reply was received.

    The calendar holds the counted hours (08:00-12:00 and 14:30-20:00 every day for the
    branch): the night and the lunch break do not count.
    """
    return calendar.add(instant(received_at), parse_duration(working_time)).isoformat()


def deadline_outcome(
    deadlines: Mapping[str, Any] | None,
    clock: str,
    due: str | datetime,
    done_at: str | datetime,
    zone: ZoneInfo | None = None,
) -> dict[str, Any]:
    """L7: ``deadlines`` with the outcome of ``clock`` measured at ``done_at`` (a new dict).

    The entry is ``{clock, due, done_at, met, late_by_s}``; ``late_by_s`` is 0 when met. A
    clock measured again (a reworked order submitted a second time, E5) is replaced: the
    last completion is the one that counts, against the same due instant. Without ``zone``
    both instants are written in the due instant's offset (the branch's, see the operations).
    """
    due_instant, done_instant = instant(due), instant(done_at)
    late_by = (done_instant - due_instant).total_seconds()
    result = dict(deadlines or {})
    result[clock] = {
        "clock": clock,
        "due": _iso(due_instant, zone),
        "done_at": _iso(done_instant, zone or due_instant.tzinfo),
        "met": late_by <= 0,
        "late_by_s": max(late_by, 0.0),
    }
    return result


def breach_record(
    clock: str, due: str | datetime, at: str | datetime, zone: ZoneInfo | None = None
) -> dict[str, Any]:
    """L7: what a deadline timer records when it fires: ``{clock, due, at, late_by_s}``."""
    due_instant, at_instant = instant(due), instant(at)
    return {
        "clock": clock,
        "due": _iso(due_instant, zone),
        "at": _iso(at_instant, zone),
        "late_by_s": (at_instant - due_instant).total_seconds(),
    }
