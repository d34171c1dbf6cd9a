"""The figure of a deadline timer in the owner's words, from its procedure.toml table (issue 10).

Registered as the engine's timer labeller: at deploy every timer carrying ``clock`` and
``figure`` is labelled "<clock> <words>" (``engine.timer_labels``), so the diagram shows what
the config says. Words are bilingual like the rest of the diagrams, Chinese first:
``{ordinary="PT2H", urgent="PT30M"}`` -> "2小时，紧急30分钟 2 h, urgent 30 min".
The shapes understood are the deadline tables of procedure.toml; anything else is refused
at validation (LabelError), naming the figure, rather than drawn as a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.calendar import CalendarConfigError, calendar_from_config
from engine.timer_labels import LabelError

ON_ORDER = "on_order"  # T7: the outside unit's deadline, written on the work order at receipt
_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_UNITS = ((3600, "小时", "h"), (60, "分钟", "min"), (1, "秒", "s"))


def duration_words(text: Any) -> tuple[str, str]:
    """An ISO duration as (zh, en), as the procedure speaks: hours stay hours ("PT48H" -> 48 h),
    minutes of an hour or more carry ("PT90M" -> "1小时30分钟", "1 h 30 min"), days are days ("P1D")."""
    days, seconds = _parts(text)
    zh, en = [], []
    if days:
        zh.append(f"{days}天")
        en.append(f"{days} day{'' if days == 1 else 's'}")
    for unit, zh_unit, en_unit in _UNITS:
        amount, seconds = divmod(seconds, unit)
        if amount:
            zh.append(f"{amount}{zh_unit}")
            en.append(f"{amount} {en_unit}")
    return "".join(zh), " ".join(en)


def _parts(text: Any) -> tuple[int, int]:
    """(days, seconds) of a whole, positive ISO duration without years or months."""
    stripped = text.strip() if isinstance(text, str) else ""
    match = _DURATION.fullmatch(stripped)
    if match is None or stripped in ("P", "PT") or stripped.endswith("T"):
        raise LabelError(f"{text!r} is not a whole ISO 8601 duration like 'PT2H', 'PT90M' or 'P1D'")
    weeks, days, hours, minutes, secs = (int(part or 0) for part in match.groups())
    if not (weeks or days or hours or minutes or secs):
        raise LabelError(f"{text!r} is not a positive duration")
    return weeks * 7 + days, (hours * 60 + minutes) * 60 + secs


def _seconds(text: Any) -> int:
    days, seconds = _parts(text)
    return days * 86400 + seconds


def figure_words(config: Mapping[str, Any], clock: str, figure: str) -> str:
    """The words of ``figure`` (a dotted procedure.toml key, or ``on_order``)."""
    if figure == ON_ORDER:
        return "按工单时限 the deadline on the work order"
    value = _lookup(config, figure)
    if isinstance(value, str):
        return _span(value)
    if not isinstance(value, Mapping):
        raise LabelError(f"[{figure}] is neither a duration nor a table of figures")
    keys = set(value)
    if keys == {"ordinary", "urgent"}:
        return _ordinary_urgent(value)
    if keys == {"calendar", "working_time"}:
        return _working_time(config, value)
    if keys == {"span", "attempts", "spacing"}:
        return _contact_window(value)
    if keys == {"span"}:
        return _span(value["span"])
    raise LabelError(
        f"[{figure}] has keys {sorted(keys)}; a deadline figure is a duration, {{ordinary, urgent}}, "
        "{calendar, working_time}, {span} or {span, attempts, spacing}"
    )


def _lookup(config: Mapping[str, Any], figure: str) -> Any:
    value: Any = config
    for part in figure.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise LabelError(f"procedure.toml has no [{figure}]")
        value = value[part]
    return value


def _span(text: Any) -> str:
    zh, en = duration_words(text)
    return f"{zh} {en}"


def _ordinary_urgent(table: Mapping[str, Any]) -> str:
    ordinary_zh, ordinary_en = duration_words(table["ordinary"])
    urgent_zh, urgent_en = duration_words(table["urgent"])
    return f"{ordinary_zh}，紧急{urgent_zh} {ordinary_en}, urgent {urgent_en}"


def _contact_window(table: Mapping[str, Any]) -> str:
    attempts = table["attempts"]
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise LabelError(f"attempts must be a whole number of at least 1, got {attempts!r}")
    span_zh, span_en = duration_words(table["span"])
    spacing_zh, spacing_en = duration_words(table["spacing"])
    noun = "attempt" if attempts == 1 else "attempts"
    zh = f"{span_zh}内至少{attempts}次，间隔{spacing_zh}"
    return f"{zh} at least {attempts} {noun} in {span_en}, {spacing_en} apart"


def _working_time(config: Mapping[str, Any], table: Mapping[str, Any]) -> str:
    """ "2个工作小时（不含20:00-08:00及12:00-14:30）2 working hours, excluding ..." from the calendar."""
    name = table["calendar"]
    calendar_table = config.get("calendars", {}).get(name) if isinstance(name, str) else None
    if not isinstance(calendar_table, Mapping):
        raise LabelError(f"calendar {name!r} is not a [calendars.*] table of procedure.toml")
    try:
        calendar = calendar_from_config(name, calendar_table)
    except CalendarConfigError as error:
        raise LabelError(str(error)) from None
    seconds = _seconds(table["working_time"])
    if seconds % 3600 == 0:
        hours = seconds // 3600
        zh, en = f"{hours}个工作小时", f"{hours} working hour{'' if hours == 1 else 's'}"
    else:
        zh_span, en_span = duration_words(table["working_time"])
        zh, en = f"{zh_span}工作时间", f"{en_span} of working time"
    gaps = excluded_spans([(window.start, window.end) for window in calendar.windows])
    if not gaps:
        return f"{zh} {en}"
    return f"{zh}（不含{_join_zh(gaps)}）{en}, excluding {_join_en(gaps)}"


def excluded_spans(windows: list[tuple[int, int]]) -> list[str]:
    """The parts of the day outside the working windows (minutes after midnight), night first.

    The overnight gap (last end to first start) leads, then the gaps between windows in
    order: 08:00-12:00 and 14:30-20:00 give ["20:00-08:00", "12:00-14:30"].
    """
    ordered = sorted(windows)
    if not ordered:
        return []
    first_start, last_end = ordered[0][0], ordered[-1][1]
    gaps = []
    if not (first_start == 0 and last_end == 1440):
        gaps.append(f"{_hhmm(last_end % 1440)}-{_hhmm(first_start)}")
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        if start > end:
            gaps.append(f"{_hhmm(end)}-{_hhmm(start)}")
    return gaps


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _join_zh(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "、".join(parts[:-1]) + "及" + parts[-1]


def _join_en(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

