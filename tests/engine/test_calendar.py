"""Working-time calendars: exact deadlines at every window edge, DST, holidays, config errors.

Expected instants are written out in full, never computed with the code under test, so a
failure shows which edge rule broke.
"""

from __future__ import annotations

import time
import tomllib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import (
    CalendarConfigError,
    WallWindow,
    WorkingCalendar,
    calendar_from_config,
    calendars_from_config,
    parse_duration,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

CONFIG = tomllib.loads(
    """
[calendars.customer_reply]
timezone = "Asia/Shanghai"
windows = ["08:00-12:00", "14:30-20:00"]
holidays = ["2026-10-01", "2026-10-02"]

[calendars.office]
timezone = "Europe/Berlin"
windows = ["09:00-12:00", "13:00-17:00"]
days = ["mon", "tue", "wed", "thu", "fri"]
holidays = ["2026-10-05"]
extra_working_days = ["2026-10-10"]

[calendars.shop]
timezone = "Europe/Berlin"
windows = ["10:00-20:00"]

[calendars.shop.weekly]
sat = ["10:00-14:00"]
sun = []
"""
)
CALENDARS = calendars_from_config(CONFIG)
CUSTOMER_REPLY = CALENDARS["customer_reply"]
OFFICE = CALENDARS["office"]
SHOP = CALENDARS["shop"]

TWO_HOURS = timedelta(hours=2)


def shanghai(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def berlin(month: int, day: int, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN, fold=fold)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def assert_same_instant(actual: datetime, expected: datetime, zone: ZoneInfo) -> None:
    """Compares in UTC: two datetimes sharing a ZoneInfo compare by wall clock, ignoring fold."""
    assert actual.astimezone(UTC) == expected.astimezone(UTC), (actual, expected)
    assert actual.tzinfo is zone
    assert actual.utcoffset() == expected.astimezone(zone).utcoffset()


def berlin_calendar(*windows: str) -> WorkingCalendar:
    return calendar_from_config("night", {"timezone": "Europe/Berlin", "windows": list(windows)})


# --- R4: customer reply within 2 working hours ----------------------------------------------
# 2026-06-01 is a Monday; customer_reply works every day 08:00-12:00 and 14:30-20:00.

R4_CASES = [
    pytest.param((1, 11, 0), (1, 15, 30), id="11:00 -> 15:30 across lunch"),
    pytest.param((1, 11, 59), (1, 16, 29), id="11:59 -> 16:29 one minute before lunch"),
    pytest.param((1, 12, 0), (1, 16, 30), id="12:00 on window end -> 16:30 next window"),
    pytest.param((1, 12, 30), (1, 16, 30), id="12:30 in lunch -> 16:30"),
    pytest.param((1, 14, 30), (1, 16, 30), id="14:30 on window start -> 16:30"),
    pytest.param((1, 18, 0), (1, 20, 0), id="18:00 -> 20:00 lands on window end and stays"),
    pytest.param((1, 10, 0), (1, 12, 0), id="10:00 -> 12:00 lands on window end and stays"),
    pytest.param((1, 19, 30), (2, 9, 30), id="19:30 -> 09:30 next day"),
    pytest.param((1, 19, 59), (2, 9, 59), id="19:59 -> 09:59 next day"),
    pytest.param((1, 20, 0), (2, 10, 0), id="20:00 on evening end -> 10:00 next day"),
    pytest.param((1, 23, 59), (2, 10, 0), id="23:59 -> 10:00 next day"),
    pytest.param((2, 0, 0), (2, 10, 0), id="00:00 midnight -> 10:00 same day"),
    pytest.param((1, 7, 0), (1, 10, 0), id="07:00 before opening -> 10:00"),
    pytest.param((1, 8, 0), (1, 10, 0), id="08:00 on opening -> 10:00"),
]


@pytest.mark.parametrize(("start", "expected"), R4_CASES)
def test_r4_reply_deadline_two_working_hours(
    start: tuple[int, int, int], expected: tuple[int, int, int]
) -> None:
    """R4: reply within 2 working hours, excluding 20:00-08:00 and the 12:00-14:30 lunch."""
    result = CUSTOMER_REPLY.add(shanghai(*start), TWO_HOURS)
    assert_same_instant(result, shanghai(*expected), SHANGHAI)


def test_r4_holiday_is_skipped_entirely() -> None:
    """R4: a complaint on a holiday morning is due two working hours into the next working day."""
    result = CUSTOMER_REPLY.add(shanghai(1, 10, month=10), TWO_HOURS)
    assert_same_instant(result, shanghai(3, 10, month=10), SHANGHAI)


def test_r4_day_before_holiday_rolls_over_the_holidays() -> None:
    """R4: 30 minutes on 30 Sep, then 1 and 2 Oct are holidays, the rest on 3 Oct."""
    result = CUSTOMER_REPLY.add(shanghai(30, 19, 30, month=9), TWO_HOURS)
    assert_same_instant(result, shanghai(3, 9, 30, month=10), SHANGHAI)


def test_r4_evening_end_before_holiday_rolls_over_the_holidays() -> None:
    """R4: a start at 20:00 the evening before the holidays counts from 3 Oct 08:00."""
    result = CUSTOMER_REPLY.add(shanghai(30, 20, 0, month=9), TWO_HOURS)
    assert_same_instant(result, shanghai(3, 10, 0, month=10), SHANGHAI)


def test_r4_start_given_in_utc_is_answered_in_shanghai_time() -> None:
    """R4: 03:00 UTC is 11:00 in Shanghai, so the reply is due 15:30 +08:00."""
    result = CUSTOMER_REPLY.add(utc(6, 1, 3, 0), TWO_HOURS)
    assert result == shanghai(1, 15, 30)
    assert result.tzinfo is SHANGHAI
    assert result.utcoffset() == timedelta(hours=8)
    assert result.isoformat() == "2026-06-01T15:30:00+08:00"


def test_r4_deadline_from_parsed_duration() -> None:
    """R4: the duration as written in the procedure, 'PT2H', gives the same deadline."""
    assert CUSTOMER_REPLY.add(shanghai(1, 11), parse_duration("PT2H")) == shanghai(1, 15, 30)


def test_r4_zero_duration_returns_start_even_outside_working_time() -> None:
    """R4 calendar: nothing has to elapse, so 22:00 stays 22:00 (in the calendar's zone)."""
    start = utc(6, 1, 14, 0)  # 22:00 in Shanghai, after closing
    result = CUSTOMER_REPLY.add(start, timedelta(0))
    assert_same_instant(result, shanghai(1, 22, 0), SHANGHAI)


def test_r4_negative_duration_is_refused() -> None:
    """R4 calendar: a deadline before its start is a caller bug, not a question to answer."""
    with pytest.raises(ValueError, match="negative"):
        CUSTOMER_REPLY.add(shanghai(1, 11), timedelta(minutes=-1))


@pytest.mark.parametrize(
    ("instant", "working"),
    [
        pytest.param(shanghai(1, 7, 59), False, id="07:59 before opening"),
        pytest.param(shanghai(1, 8, 0), True, id="08:00 window start counts"),
        pytest.param(shanghai(1, 11, 59), True, id="11:59"),
        pytest.param(shanghai(1, 12, 0), False, id="12:00 window end does not count"),
        pytest.param(shanghai(1, 14, 29), False, id="14:29 lunch"),
        pytest.param(shanghai(1, 14, 30), True, id="14:30"),
        pytest.param(shanghai(1, 19, 59), True, id="19:59"),
        pytest.param(shanghai(1, 20, 0), False, id="20:00"),
        pytest.param(shanghai(2, 0, 0), False, id="midnight"),
        pytest.param(shanghai(1, 10, month=10), False, id="holiday 10:00"),
        pytest.param(utc(6, 1, 3, 0), True, id="03:00 UTC is 11:00 Shanghai"),
    ],
)
def test_r4_is_working(instant: datetime, working: bool) -> None:
    """R4: working time is 08:00-12:00 and 14:30-20:00, half-open at the end."""
    assert CUSTOMER_REPLY.is_working(instant) is working


def test_r4_between_counts_only_working_time() -> None:
    """R4: a whole day holds 9h30 of working time, a holiday none, lunch and night nothing."""
    assert CUSTOMER_REPLY.between(shanghai(1, 0), shanghai(2, 0)) == timedelta(hours=9, minutes=30)
    assert CUSTOMER_REPLY.between(shanghai(1, 11), shanghai(1, 15, 30)) == TWO_HOURS
    assert CUSTOMER_REPLY.between(shanghai(1, 12), shanghai(1, 14, 30)) == timedelta(0)
    assert CUSTOMER_REPLY.between(shanghai(1, 0, month=10), shanghai(3, 0, month=10)) == timedelta(0)
    assert CUSTOMER_REPLY.between(shanghai(1, 15, 30), shanghai(1, 11)) == -TWO_HOURS


def test_r4_long_duration_crosses_holidays_exactly() -> None:
    """R4 calendar: P30D is 720 working hours = 75 full days of 9h30 plus 7h30.

    From Tue 1 Sep 08:00, the 76th working day is 17 Nov (77 days on, two holidays skipped);
    7h30 into it is 08:00-12:00 plus 3h30 from 14:30, i.e. 18:00.
    """
    result = CUSTOMER_REPLY.add(shanghai(1, 8, month=9), parse_duration("P30D"))
    assert_same_instant(result, shanghai(17, 18, 0, month=11), SHANGHAI)


def test_r4_very_long_duration_is_fast() -> None:
    """R4 calendar: a year of working time (~920 calendar days) must not loop per minute."""
    started = time.perf_counter()
    result = CUSTOMER_REPLY.add(shanghai(1, 8), parse_duration("P365D"))
    elapsed = time.perf_counter() - started
    assert CUSTOMER_REPLY.between(shanghai(1, 8), result) == timedelta(days=365)
    assert elapsed < 1.0


# --- between() is the inverse of add() ------------------------------------------------------

GRID_DURATIONS = [
    timedelta(minutes=1),
    timedelta(minutes=30),
    TWO_HOURS,
    timedelta(hours=9, minutes=30),
    timedelta(days=1),
    timedelta(days=3, minutes=7),
]


def _grid(first: datetime, hours: int, step_minutes: int) -> list[datetime]:
    return [first + timedelta(minutes=m) for m in range(0, hours * 60, step_minutes)]


@pytest.mark.parametrize("duration", GRID_DURATIONS, ids=str)
def test_r4_between_inverts_add_over_a_grid_of_starts(duration: timedelta) -> None:
    """R4 calendar: between(s, add(s, d)) == d for starts every 17 min around the holidays."""
    for start in _grid(shanghai(29, 0, month=9), hours=6 * 24, step_minutes=17):
        end = CUSTOMER_REPLY.add(start, duration)
        assert end >= start
        assert CUSTOMER_REPLY.between(start, end) == duration, start
        assert CUSTOMER_REPLY.between(end, start) == -duration, start


@pytest.mark.parametrize("duration", GRID_DURATIONS, ids=str)
def test_between_inverts_add_across_berlin_dst_days(duration: timedelta) -> None:
    """The inverse holds in real time also when windows are stretched or cut by DST."""
    calendar = berlin_calendar("01:00-04:00", "09:00-12:00")
    for first in (utc(3, 27, 22), utc(10, 23, 22)):
        for start in _grid(first, hours=4 * 24, step_minutes=23):
            end = calendar.add(start, duration)
            assert calendar.between(start, end) == duration, start


@pytest.mark.parametrize("duration", GRID_DURATIONS, ids=str)
def test_between_inverts_add_on_office_with_weekends_and_extra_day(duration: timedelta) -> None:
    """The inverse holds across a weekend, a holiday and an extra working Saturday."""
    for start in _grid(berlin(10, 2, 0), hours=12 * 24, step_minutes=41):
        end = OFFICE.add(start, duration)
        assert OFFICE.between(start, end) == duration, start


# --- restricted weekdays, extra working days, weekly overrides ------------------------------
# October 2026: Fri 9, Sat 10 (extra working day), Sun 11, Mon 5 is a holiday.


def test_weekend_is_skipped_when_days_are_restricted() -> None:
    """Office works Mon-Fri: one hour on Friday, the second on Monday morning."""
    result = OFFICE.add(berlin(10, 16, 16), TWO_HOURS)
    assert_same_instant(result, berlin(10, 19, 10), BERLIN)


def test_start_on_a_weekend_counts_from_monday_opening() -> None:
    result = OFFICE.add(berlin(10, 17, 10), timedelta(hours=1))
    assert_same_instant(result, berlin(10, 19, 10), BERLIN)
    assert not OFFICE.is_working(berlin(10, 17, 10))


def test_friday_before_weekend_and_monday_holiday_goes_to_tuesday() -> None:
    """Fri 2 Oct 16:00: one hour Friday, weekend off, Monday 5 Oct a holiday, then Tuesday."""
    result = OFFICE.add(berlin(10, 2, 16), TWO_HOURS)
    assert_same_instant(result, berlin(10, 6, 10), BERLIN)


def test_extra_working_day_counts() -> None:
    """Sat 10 Oct is worked although Saturday is not in `days`, with the normal windows."""
    result = OFFICE.add(berlin(10, 9, 16), TWO_HOURS)
    assert_same_instant(result, berlin(10, 10, 10), BERLIN)
    assert OFFICE.is_working(berlin(10, 10, 9))
    assert not OFFICE.is_working(berlin(10, 10, 12, 30))


def test_extra_working_day_uses_the_calendars_windows() -> None:
    """11:00 + 2h on the extra day: one hour to noon, lunch 12-13, one more hour: 14:00."""
    result = OFFICE.add(berlin(10, 10, 11), TWO_HOURS)
    assert_same_instant(result, berlin(10, 10, 14), BERLIN)


def test_weekly_override_shortens_saturday_and_empty_list_closes_sunday() -> None:
    """Shop: Saturday 10:00-14:00 only, Sunday has no windows: 13:00 + 2h -> Monday 11:00."""
    result = SHOP.add(berlin(10, 17, 13), TWO_HOURS)
    assert_same_instant(result, berlin(10, 19, 11), BERLIN)
    assert SHOP.between(berlin(10, 17, 0), berlin(10, 19, 0)) == timedelta(hours=4)


# --- DST: working time is elapsed real time -------------------------------------------------
# Europe/Berlin 2026: 29 Mar 02:00 CET -> 03:00 CEST; 25 Oct 03:00 CEST -> 02:00 CET.


def test_dst_spring_window_is_two_real_hours() -> None:
    """01:00-04:00 on the spring-forward day skips 02:00-03:00, so it holds 2 real hours."""
    night = berlin_calendar("01:00-04:00")
    assert night.between(berlin(3, 29, 0), berlin(3, 30, 0)) == timedelta(hours=2)
    assert night.between(berlin(3, 28, 0), berlin(3, 29, 0)) == timedelta(hours=3)


def test_dst_spring_adding_crosses_the_jump() -> None:
    night = berlin_calendar("01:00-04:00")
    one_hour = night.add(berlin(3, 29, 1), timedelta(hours=1))
    assert_same_instant(one_hour, utc(3, 29, 1, 0), BERLIN)
    assert one_hour.isoformat() == "2026-03-29T03:00:00+02:00"
    two_hours = night.add(berlin(3, 29, 1), TWO_HOURS)
    assert two_hours.isoformat() == "2026-03-29T04:00:00+02:00"
    three_hours = night.add(berlin(3, 29, 1), timedelta(hours=3))
    assert three_hours.isoformat() == "2026-03-30T02:00:00+02:00"


def test_dst_autumn_window_is_four_real_hours() -> None:
    """01:00-04:00 on the fall-back day lives through 02:00-03:00 twice: 4 real hours."""
    night = berlin_calendar("01:00-04:00")
    assert night.between(berlin(10, 25, 0), berlin(10, 26, 0)) == timedelta(hours=4)


def test_dst_autumn_adding_walks_through_the_repeated_hour() -> None:
    night = berlin_calendar("01:00-04:00")
    start = berlin(10, 25, 1)
    first_pass = night.add(start, timedelta(hours=1, minutes=30))
    assert first_pass.isoformat() == "2026-10-25T02:30:00+02:00"
    second_pass = night.add(start, timedelta(hours=2, minutes=30))
    assert second_pass.isoformat() == "2026-10-25T02:30:00+01:00"
    assert second_pass.fold == 1
    assert night.add(start, timedelta(hours=4)).isoformat() == "2026-10-25T04:00:00+01:00"
    assert night.add(start, timedelta(hours=4, minutes=1)).isoformat() == ("2026-10-26T01:01:00+01:00")


def test_dst_nonexistent_window_start_is_the_instant_the_clock_jumps_to() -> None:
    """02:30 does not exist on 29 Mar; the window starts at the jump, 03:00 CEST."""
    calendar = berlin_calendar("02:30-05:00")
    assert calendar.between(berlin(3, 29, 0), berlin(3, 30, 0)) == TWO_HOURS
    result = calendar.add(berlin(3, 29, 0), timedelta(hours=1))
    assert result.isoformat() == "2026-03-29T04:00:00+02:00"
    assert not calendar.is_working(utc(3, 29, 0, 59))  # 01:59 CET, before the jump
    assert calendar.is_working(utc(3, 29, 1, 0))  # 03:00 CEST


def test_dst_ambiguous_window_start_is_the_first_occurrence() -> None:
    """02:30 happens twice on 25 Oct; the window starts at the first (CEST), ends 05:00 CET."""
    calendar = berlin_calendar("02:30-05:00")
    assert calendar.between(berlin(10, 25, 0), berlin(10, 26, 0)) == timedelta(hours=3, minutes=30)
    result = calendar.add(berlin(10, 25, 0), timedelta(minutes=1))
    assert result.isoformat() == "2026-10-25T02:31:00+02:00"
    assert calendar.is_working(berlin(10, 25, 2, 15, fold=1))  # second 02:15, inside


def test_dst_window_wholly_inside_the_gap_is_empty_that_day() -> None:
    calendar = berlin_calendar("02:00-02:45")
    assert calendar.between(berlin(3, 29, 0), berlin(3, 30, 0)) == timedelta(0)
    result = calendar.add(berlin(3, 29, 0), timedelta(minutes=30))
    assert result.isoformat() == "2026-03-30T02:30:00+02:00"


# --- naive datetimes ------------------------------------------------------------------------


def test_naive_datetimes_are_refused_everywhere() -> None:
    naive = datetime(2026, 6, 1, 11, 0)
    aware = shanghai(1, 11)
    with pytest.raises(ValueError, match="timezone-aware"):
        CUSTOMER_REPLY.add(naive, TWO_HOURS)
    with pytest.raises(ValueError, match="timezone-aware"):
        CUSTOMER_REPLY.add(naive, timedelta(0))
    with pytest.raises(ValueError, match="timezone-aware"):
        CUSTOMER_REPLY.between(naive, aware)
    with pytest.raises(ValueError, match="timezone-aware"):
        CUSTOMER_REPLY.between(aware, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CUSTOMER_REPLY.is_working(naive)


# --- config ---------------------------------------------------------------------------------


def test_calendar_from_config_builds_weekly_windows() -> None:
    assert OFFICE.name == "office"
    assert OFFICE.zone is BERLIN
    assert OFFICE.weekly[0] == (WallWindow(540, 720), WallWindow(780, 1020))
    assert OFFICE.weekly[5] == ()
    assert OFFICE.extra_working_days == frozenset({date(2026, 10, 10)})
    assert SHOP.weekly[5] == (WallWindow(600, 840),)
    assert SHOP.weekly[6] == ()


def test_config_accepts_toml_native_dates_unordered_windows_and_24_00() -> None:
    table = tomllib.loads(
        """
        timezone = "UTC"
        windows = ["20:00-24:00", "00:00-06:00"]
        holidays = [2026-12-25]
        """
    )
    calendar = calendar_from_config("late", table)
    assert calendar.holidays == frozenset({date(2026, 12, 25)})
    assert calendar.windows == (WallWindow(0, 360), WallWindow(1200, 1440))
    # 22:00 + 4h: two hours to midnight, two more from 00:00 the next day.
    result = calendar.add(utc(6, 1, 22), timedelta(hours=4))
    assert result == utc(6, 2, 2)


def test_calendars_from_config_without_calendars_is_empty() -> None:
    assert calendars_from_config({}) == {}


def test_calendar_config_error_message_names_calendar_and_field() -> None:
    with pytest.raises(CalendarConfigError) as caught:
        calendar_from_config("office", {"timezone": "UTC", "windows": ["08:00-12:00", "14:30-12:00"]})
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.calendar, error.field) == ("office", "windows[1]")
    assert str(error).startswith("calendar 'office', field 'windows[1]': '14:30-12:00' ends before it starts")


VALID = {"timezone": "Europe/Berlin", "windows": ["09:00-12:00", "13:00-17:00"]}


def _with(**changes: Any) -> dict[str, Any]:
    table = dict(VALID)
    for key, value in changes.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value
    return table


CONFIG_ERRORS = [
    pytest.param(_with(windowz=["09:00-10:00"]), "windowz", "unknown key", id="unknown key"),
    pytest.param(_with(timezone=None), "timezone", "required", id="timezone missing"),
    pytest.param(_with(timezone="Mars/Olympus"), "timezone", "unknown", id="unknown timezone"),
    pytest.param(_with(timezone="../etc"), "timezone", "unknown", id="malformed timezone"),
    pytest.param(_with(timezone=8), "timezone", "IANA", id="timezone not a string"),
    pytest.param(_with(windows=None), "windows", "required", id="windows missing"),
    pytest.param(_with(windows="09:00-12:00"), "windows", "list", id="windows not a list"),
    pytest.param(_with(windows=["9:00-12:00"]), "windows[0]", "HH:MM", id="window format"),
    pytest.param(_with(windows=[930]), "windows[0]", "HH:MM", id="window not a string"),
    pytest.param(
        _with(windows=["09:00-12:00", "14:30-12:00"]),
        "windows[1]",
        "ends before it starts",
        id="window ends before start",
    ),
    pytest.param(_with(windows=["22:00-02:00"]), "windows[0]", "cross midnight", id="window over midnight"),
    pytest.param(_with(windows=["12:00-12:00"]), "windows[0]", "empty", id="empty window"),
    pytest.param(_with(windows=["24:00-24:00"]), "windows[0]", "starts", id="window start 24"),
    pytest.param(_with(windows=["08:60-09:00"]), "windows[0]", "starts", id="minute 60"),
    pytest.param(_with(windows=["08:00-24:30"]), "windows[0]", "24:00", id="end past 24:00"),
    pytest.param(_with(windows=["08:00-25:00"]), "windows[0]", "24:00", id="end hour 25"),
    pytest.param(
        _with(windows=["08:00-12:00", "11:00-13:00"]),
        "windows[1]",
        "overlaps",
        id="overlapping windows",
    ),
    pytest.param(
        _with(windows=["11:00-13:00", "08:00-12:00"]),
        "windows[1]",
        "overlaps",
        id="overlapping windows given out of order",
    ),
    pytest.param(_with(days=["mon", "funday"]), "days[1]", "unknown weekday", id="bad weekday"),
    pytest.param(_with(days="mon"), "days", "list", id="days not a list"),
    pytest.param(
        _with(weekly={"saturday": ["09:00-12:00"]}),
        "weekly.saturday",
        "unknown weekday",
        id="weekly unknown weekday",
    ),
    pytest.param(
        _with(weekly={"sat": ["09:00-08:00"]}),
        "weekly.sat[0]",
        "ends before it starts",
        id="weekly bad window",
    ),
    pytest.param(
        _with(weekly={"sat": ["09:00-12:00", "10:00-11:00"]}),
        "weekly.sat[1]",
        "overlaps",
        id="weekly overlapping windows",
    ),
    pytest.param(
        _with(days=["mon"], weekly={"sun": ["09:00-12:00"]}),
        "weekly.sun",
        "not in days",
        id="weekly override of a day off",
    ),
    pytest.param(_with(weekly=["sat"]), "weekly", "table", id="weekly not a table"),
    pytest.param(_with(holidays=["2026-13-01"]), "holidays[0]", "date", id="impossible date"),
    pytest.param(_with(holidays=["2026-10-01", "01.10.2026"]), "holidays[1]", "date", id="date format"),
    pytest.param(_with(holidays=[datetime(2026, 10, 1, 8)]), "holidays[0]", "date", id="datetime holiday"),
    pytest.param(_with(holidays="2026-10-01"), "holidays", "list", id="holidays not a list"),
    pytest.param(
        _with(days=["mon"], extra_working_days=["2026-10-10", "2026-1-1"]),
        "extra_working_days[1]",
        "date",
        id="bad extra working day",
    ),
    pytest.param(
        _with(days=["mon"], holidays=["2026-10-10"], extra_working_days=["2026-10-10"]),
        "extra_working_days[0]",
        "holidays",
        id="extra working day is also a holiday",
    ),
    pytest.param(
        _with(days=["sat"], extra_working_days=["2026-10-10"]),
        "extra_working_days[0]",
        "already a working weekday",
        id="extra working day on a working weekday",
    ),
    pytest.param(
        _with(
            days=["mon"],
            windows=[],
            weekly={"mon": ["09:00-10:00"]},
            extra_working_days=["2026-10-10"],
        ),
        "extra_working_days[0]",
        "no working time",
        id="extra working day without windows",
    ),
    pytest.param(_with(days=[]), "days", "no working time", id="no working weekday"),
    pytest.param(_with(windows=[]), "windows", "no working time", id="no windows"),
    pytest.param(_with(days=["sat"], weekly={"sat": []}), "weekly", "no working time", id="all overridden"),
]


@pytest.mark.parametrize(("table", "field", "fragment"), CONFIG_ERRORS)
def test_config_error_names_the_field(table: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(CalendarConfigError) as caught:
        calendar_from_config("office", table)
    error = caught.value
    assert error.calendar == "office"
    assert error.field == field
    assert f"field '{field}'" in str(error)
    assert fragment in error.message


def test_calendars_from_config_raises_on_the_first_bad_calendar() -> None:
    config = {"calendars": {"good": VALID, "bad": _with(timezone="Nowhere/Else")}}
    with pytest.raises(CalendarConfigError) as caught:
        calendars_from_config(config)
    assert (caught.value.calendar, caught.value.field) == ("bad", "timezone")


def test_calendars_from_config_refuses_a_calendar_that_is_not_a_table() -> None:
    with pytest.raises(CalendarConfigError) as caught:
        calendars_from_config({"calendars": {"office": ["09:00-12:00"]}})
    assert caught.value.field == "calendars.office"


def test_calendars_from_config_refuses_calendars_that_is_not_a_table() -> None:
    with pytest.raises(CalendarConfigError) as caught:
        calendars_from_config({"calendars": ["office"]})
    assert caught.value.field == "calendars"


def test_direct_construction_without_working_time_is_refused() -> None:
    """add() would never end, so even a hand-built calendar must have some working time."""
    with pytest.raises(ValueError, match="no working time"):
        WorkingCalendar(name="never", zone=BERLIN, windows=(), weekly=((),) * 7)


# --- parse_duration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT2H", timedelta(hours=2)),
        ("PT30M", timedelta(minutes=30)),
        ("P2D", timedelta(days=2)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT0.5H", timedelta(minutes=30)),
        ("PT0,5H", timedelta(minutes=30)),
        ("PT45S", timedelta(seconds=45)),
        ("PT0.1S", timedelta(milliseconds=100)),
        ("P1W", timedelta(weeks=1)),
        ("PT0S", timedelta(0)),
        (" PT2H\n", timedelta(hours=2)),
    ],
    ids=repr,
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "not an ISO 8601 duration"),
        ("P", "not an ISO 8601 duration"),
        ("PT", "not an ISO 8601 duration"),
        ("P1DT", "not an ISO 8601 duration"),
        ("2H", "not an ISO 8601 duration"),
        ("P2H", "not an ISO 8601 duration"),
        ("pt2h", "not an ISO 8601 duration"),
        ("PT2H30", "not an ISO 8601 duration"),
        ("PT1H2H", "not an ISO 8601 duration"),
        ("-PT2H", "negative"),
        ("P1Y", "years and months"),
        ("P2M", "years and months"),
        ("P1Y2M3D", "years and months"),
        ("PT1.5H30M", "only the last component"),
    ],
    ids=repr,
)
def test_parse_duration_refuses(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)
