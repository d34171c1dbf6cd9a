"""Working-time calendars: deadlines that only count time inside working windows.

A calendar turns "2 working hours after this instant" into an instant. It is built from one
table of the procedure config (``[calendars.<name>]``) and is immutable, so one instance can
be shared by every thread that computes deadlines.

Decisions a reader would otherwise have to reverse-engineer from the code:

* Working time is *elapsed real time inside windows*. Windows are wall-clock times in the
  calendar's zone and are turned into instants day by day, so a window spanning a DST change
  is shorter (spring forward) or longer (fall back) than its wall-clock length: the customer
  waits in real hours, not in clock readings.
* A wall time that does not exist (inside the spring-forward gap) is taken as the instant the
  clock jumps to; an ambiguous wall time (the repeated autumn hour) is its first occurrence
  (``fold=0``). Both keep the mapping from wall time to instant monotonic, so the windows of a
  day never overlap or reverse after conversion; a window wholly inside a gap is empty.
* All arithmetic is done on UTC instants. Python compares and subtracts two datetimes that
  share a ``tzinfo`` by their wall clocks, which is wrong across a DST change.
* A start inside a break, or exactly on a window's end, counts from the next window's start.
  A result that lands exactly on a window's end stays there: that is the instant the working
  time ran out, and rolling it over to the next start would add a whole break to a deadline.
* ``add(start, timedelta(0))`` returns ``start`` itself (in the calendar's zone), even outside
  working time: nothing has to elapse, so nothing can be due later than ``start``, and a
  zero-length timer fires at once instead of waiting for the next window.
* `add` and `between` walk day by day, one step per window (about 10 microseconds a day), so
  a year of working time costs milliseconds; skipping whole weeks is not worth the DST and
  holiday bookkeeping it would need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CalendarConfigError",
    "WallWindow",
    "WorkingCalendar",
    "calendar_from_config",
    "calendars_from_config",
    "parse_duration",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KNOWN_KEYS: frozenset[str] = frozenset(
    {"timezone", "windows", "days", "holidays", "extra_working_days", "weekly"}
)


class CalendarConfigError(ValueError):
    """A calendar table is unusable; names the calendar and the field so the author can fix it."""

    def __init__(self, calendar: str, field: str, message: str) -> None:
        self.calendar = calendar
        self.field = field
        self.message = message
        super().__init__(f"calendar {calendar!r}, field {field!r}: {message}")


class WallWindow(NamedTuple):
    """A working window as minutes after local midnight; ``end`` may be 1440 ("24:00")."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


@dataclass(frozen=True)
class WorkingCalendar:
    """Working windows per weekday in one time zone, minus holidays, plus extra working days.

    ``weekly`` holds the resolved windows of each weekday (Monday first; empty for a weekday
    that is not worked); ``windows`` are the ones an extra working day uses.
    """

    name: str
    zone: ZoneInfo
    windows: tuple[WallWindow, ...]
    weekly: tuple[tuple[WallWindow, ...], ...]
    holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Without this guard `add` would loop forever; config errors are reported with
        # their field earlier, this only protects direct construction.
        if len(self.weekly) != 7:
            raise ValueError(f"calendar {self.name!r}: weekly needs 7 entries, Monday first")
        if not any(self.weekly):
            raise ValueError(f"calendar {self.name!r} has no working time in any week")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of working time has elapsed after `start`.

        Returned in the calendar's zone. A zero duration returns `start` unchanged (see the
        module docstring); a negative one is refused because "working time before" is a
        different question that no deadline asks.
        """
        _require_aware(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        if not duration:
            return start.astimezone(self.zone)
        cursor = start.astimezone(UTC)
        remaining = duration
        # One step per window, never per minute; a day early, as in `_date_range`.
        day = self._local_date(cursor) - timedelta(days=1)
        while True:
            for window_start, window_end in self._utc_intervals(day):
                if window_end <= cursor:
                    continue
                counted_from = max(window_start, cursor)
                available = window_end - counted_from
                if remaining <= available:
                    return (counted_from + remaining).astimezone(self.zone)
                remaining -= available
            day += timedelta(days=1)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants; negative if `end` is before `start`.

        The inverse of `add`: ``between(s, add(s, d)) == d`` for every `s` and ``d >= 0``.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end < start:
            return -self.between(end, start)
        lower = start.astimezone(UTC)
        upper = end.astimezone(UTC)
        total = timedelta(0)
        for day in _date_range(self._local_date(lower), self._local_date(upper)):
            for window_start, window_end in self._utc_intervals(day):
                overlap = min(window_end, upper) - max(window_start, lower)
                if overlap > timedelta(0):
                    total += overlap
        return total

    def windows_between(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working intervals between two instants, clipped to them, in the calendar's zone.

        What a deadline crossed: the modeler's calendar tester shows them beside the due instant.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        lower, upper = start.astimezone(UTC), end.astimezone(UTC)
        found = []
        for day in _date_range(self._local_date(lower), self._local_date(upper)):
            for window_start, window_end in self._utc_intervals(day):
                first, last = max(window_start, lower), min(window_end, upper)
                if last > first:
                    found.append((first.astimezone(self.zone), last.astimezone(self.zone)))
        return found

    def is_working(self, instant: datetime) -> bool:
        """Whether `instant` lies inside a window; a window's start counts, its end does not."""
        _require_aware(instant, "instant")
        moment = instant.astimezone(UTC)
        day = self._local_date(moment)
        return any(
            window_start <= moment < window_end for window_start, window_end in self._utc_intervals(day)
        )

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def _windows_on(self, day: date) -> tuple[WallWindow, ...]:
        if day in self.holidays:
            return ()
        if day in self.extra_working_days:
            return self.windows
        return self.weekly[day.weekday()]

    def _utc_intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's windows as UTC instants, in order; empty ones (inside a DST gap) dropped."""
        for window in self._windows_on(day):
            window_start = _wall_to_utc(self.zone, day, window.start)
            window_end = _wall_to_utc(self.zone, day, window.end)
            if window_end > window_start:
                yield window_start, window_end


def _require_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")


def _date_range(first: date, last: date) -> Iterator[date]:
    day = first - timedelta(days=1)  # one day early: cheap insurance at odd midnight DST shifts
    while day <= last:
        yield day
        day += timedelta(days=1)


def _wall_to_utc(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The UTC instant of a wall time; a gap maps to the jump, an ambiguity to fold=0."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    return _gap_transition(zone, wall)


def _gap_transition(zone: ZoneInfo, wall: datetime) -> datetime:
    """The instant the clock jumps over the nonexistent `wall` time.

    zoneinfo does not expose its transitions, so bisect between the two readings of `wall`:
    with fold=1 it lies before the jump, with fold=0 after it. Transitions fall on whole
    seconds, so bisecting integer timestamps finds the jump exactly.
    """
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    after_offset = datetime.fromtimestamp(after, zone).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after_offset:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- building calendars from the config file -------------------------------------------------


def calendars_from_config(config: Mapping[str, Any]) -> dict[str, WorkingCalendar]:
    """Every calendar of a parsed config file, by name; the first bad one raises."""
    tables = config.get("calendars", {})
    if not isinstance(tables, Mapping):
        raise CalendarConfigError("*", "calendars", "must be a table of [calendars.<name>]")
    calendars: dict[str, WorkingCalendar] = {}
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise CalendarConfigError(name, f"calendars.{name}", f"must be a table like [calendars.{name}]")
        calendars[name] = calendar_from_config(name, table)
    return calendars


def calendar_from_config(name: str, table: Mapping[str, Any]) -> WorkingCalendar:
    """One calendar from its ``[calendars.<name>]`` table, validated field by field.

    Strict on purpose: a typo in a working-time table silently moves every deadline, so each
    doubtful entry is an error that names its field.
    """
    _reject_unknown_keys(name, table)
    zone = _parse_zone(name, table)
    windows = _parse_windows(name, "windows", _required(name, table, "windows"))
    days = _parse_days(name, table.get("days", list(WEEKDAYS)))
    overrides = _parse_weekly(name, table.get("weekly", {}), days)
    holidays = _parse_dates(name, "holidays", table.get("holidays", []))
    extra = _parse_dates(name, "extra_working_days", table.get("extra_working_days", []))
    _check_extra_working_days(name, extra, holidays, days, windows)
    weekly = tuple(overrides.get(weekday, windows) if weekday in days else () for weekday in range(7))
    if not any(weekly):
        field = "days" if not days else "windows" if not windows else "weekly"
        raise CalendarConfigError(
            name, field, "the calendar has no working time, so adding to it would never end"
        )
    return WorkingCalendar(
        name=name,
        zone=zone,
        windows=windows,
        weekly=weekly,
        holidays=frozenset(holidays.values()),
        extra_working_days=frozenset(extra.values()),
    )


def _reject_unknown_keys(name: str, table: Mapping[str, Any]) -> None:
    for key in table:
        if key not in KNOWN_KEYS:
            expected = ", ".join(sorted(KNOWN_KEYS))
            raise CalendarConfigError(name, str(key), f"unknown key; expected one of {expected}")


def _required(name: str, table: Mapping[str, Any], key: str) -> Any:
    if key not in table:
        raise CalendarConfigError(name, key, "is required")
    return table[key]


def _parse_zone(name: str, table: Mapping[str, Any]) -> ZoneInfo:
    value = _required(name, table, "timezone")
    if not isinstance(value, str) or not value:
        raise CalendarConfigError(name, "timezone", "must be an IANA name like 'Europe/Berlin'")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarConfigError(name, "timezone", f"unknown time zone {value!r}") from None


def _list(name: str, field: str, value: Any) -> Sequence[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise CalendarConfigError(name, field, f"must be a list, got {value!r}")
    return value


_WINDOW = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


def _parse_windows(name: str, field: str, value: Any) -> tuple[WallWindow, ...]:
    """Windows of one day, sorted; touching windows are fine, overlapping ones are not."""
    parsed = [
        (_parse_window(name, f"{field}[{index}]", item), index)
        for index, item in enumerate(_list(name, field, value))
    ]
    parsed.sort()
    for (earlier, earlier_index), (later, later_index) in pairwise(parsed):
        if later.start < earlier.end:
            first, second = sorted([(earlier_index, earlier), (later_index, later)])
            raise CalendarConfigError(
                name,
                f"{field}[{second[0]}]",
                f"'{second[1]}' overlaps '{first[1]}' ({field}[{first[0]}])",
            )
    return tuple(window for window, _ in parsed)


def _parse_window(name: str, field: str, value: Any) -> WallWindow:
    match = _WINDOW.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise CalendarConfigError(name, field, f"{value!r} is not 'HH:MM-HH:MM'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59:
        raise CalendarConfigError(name, field, f"{value!r} starts at an impossible time")
    if end_m > 59 or end_h > 24 or (end_h == 24 and end_m != 0):
        raise CalendarConfigError(name, field, f"{value!r} ends at an impossible time (latest is 24:00)")
    window = WallWindow(start_h * 60 + start_m, end_h * 60 + end_m)
    if window.end < window.start:
        raise CalendarConfigError(
            name, field, f"{value!r} ends before it starts (a window may not cross midnight)"
        )
    if window.end == window.start:
        raise CalendarConfigError(name, field, f"{value!r} is empty")
    return window


def _weekday(name: str, field: str, value: Any) -> int:
    if value not in WEEKDAYS:
        raise CalendarConfigError(
            name, field, f"unknown weekday {value!r}; expected one of {', '.join(WEEKDAYS)}"
        )
    return WEEKDAYS.index(value)


def _parse_days(name: str, value: Any) -> frozenset[int]:
    items = _list(name, "days", value)
    return frozenset(_weekday(name, f"days[{index}]", item) for index, item in enumerate(items))


def _parse_weekly(name: str, value: Any, days: frozenset[int]) -> dict[int, tuple[WallWindow, ...]]:
    if not isinstance(value, Mapping):
        raise CalendarConfigError(name, "weekly", "must be a table of weekday = [windows]")
    overrides: dict[int, tuple[WallWindow, ...]] = {}
    for key, windows in value.items():
        field = f"weekly.{key}"
        weekday = _weekday(name, field, key)
        if weekday not in days:
            raise CalendarConfigError(
                name, field, f"{key!r} is not in days; add it there or drop this override"
            )
        overrides[weekday] = _parse_windows(name, field, windows)
    return overrides


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_dates(name: str, field: str, value: Any) -> dict[str, date]:
    """Dates keyed by their field path, so later checks can still name the entry."""
    parsed: dict[str, date] = {}
    for index, item in enumerate(_list(name, field, value)):
        path = f"{field}[{index}]"
        parsed[path] = _parse_date(name, path, item)
    return parsed


def _parse_date(name: str, field: str, value: Any) -> date:
    # TOML has native dates; a datetime is a date subclass but means something else here.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise CalendarConfigError(name, field, f"{value!r} is not a date 'YYYY-MM-DD'")


def _check_extra_working_days(
    name: str,
    extra: Mapping[str, date],
    holidays: Mapping[str, date],
    days: frozenset[int],
    windows: tuple[WallWindow, ...],
) -> None:
    """Refuse entries that would be ignored or contradict another, rather than guess."""
    holiday_dates = set(holidays.values())
    for field, day in extra.items():
        if day in holiday_dates:
            raise CalendarConfigError(name, field, f"{day} is also listed in holidays")
        if day.weekday() in days:
            weekday = WEEKDAYS[day.weekday()]
            raise CalendarConfigError(
                name, field, f"{day} is a {weekday}, which is already a working weekday"
            )
        if not windows:
            raise CalendarConfigError(
                name, field, "windows is empty, so an extra working day has no working time"
            )


# --- durations --------------------------------------------------------------------------------

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(rf"P(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?")
_UNIT_SECONDS = (7 * 86400, 86400, 3600, 60, 1)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration without years or months ("PT2H", "P1DT2H", "PT0.5H").

    Years and months are refused because they have no fixed length, so they cannot be an
    amount of working time. A day is 24 hours; as in ISO 8601 only the smallest component
    given may carry a fraction. The result is exact to the microsecond (no float rounding).
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a string like 'PT2H', got {text!r}")
    stripped = text.strip()
    match = _DURATION.fullmatch(stripped)
    if match is None or stripped in ("P", "") or stripped.endswith("T"):
        raise ValueError(_duration_problem(text, stripped))
    parts = match.groups()
    given = [index for index, part in enumerate(parts) if part is not None]
    if any(_is_fraction(parts[index]) for index in given[:-1]):
        raise ValueError(f"duration {text!r}: only the last component may have a fraction")
    seconds = sum(Decimal(parts[index].replace(",", ".")) * _UNIT_SECONDS[index] for index in given)
    try:
        microseconds = int((seconds * 1_000_000).to_integral_value())
        return timedelta(microseconds=microseconds)
    except (InvalidOperation, OverflowError):
        raise ValueError(f"duration {text!r} is too long") from None


def _is_fraction(part: str) -> bool:
    return "." in part or "," in part


def _duration_problem(text: str, stripped: str) -> str:
    if stripped.startswith("-"):
        return f"duration {text!r}: negative durations are not allowed"
    if re.fullmatch(r"P(?:\d+(?:[.,]\d+)?[YM])+.*", stripped):
        return f"duration {text!r}: years and months have no fixed length; use days (P30D)"
    return f"duration {text!r} is not an ISO 8601 duration like 'PT2H', 'P2D' or 'PT1H30M'"
