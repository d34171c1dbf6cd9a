"""The procedure's reports (L7 on-time rate, C4 Annex 1 volumes, clocks at risk, heat map).

Every query reads the rollups ``tasks.clocks`` keeps in each command's transaction (with
the deltas not folded yet, ``tasks.clocks.with_deltas``), or the running clocks, never the
workflows: a report over a year of a million closed complaints sums a few thousand rollup
rows (docs/reports.md). Periods are days of acceptance in the
branch's zone, inclusive at both ends; a month is the first seven characters of a day.

The on-time rate (投诉处理及时率) of a clock is ``met / measured``: clocks still running are
not in it (they show in :func:`at_risk`), a clock of a V1 round counts once per round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tasks import warning_share
from tasks.clocks import RUNNING, ClockRollup, ComplaintClock, ComplaintVolume, ElementRollup, with_deltas
from tasks.records import Complaint

DEFAULT_ABOUT_TO_BREACH = warning_share.DEFAULT_FRACTION

# Dimensions a supervisor can break the on-time rate down by ("all" is the total per clock).
BREAKDOWNS = ("department", "type_flag", "channel", "business_category", "nature_category", "month")


@dataclass(frozen=True)
class Period:
    """Acceptance days ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def keys(self) -> tuple[str, str]:
        return self.start.isoformat(), self.end.isoformat()


@dataclass(frozen=True)
class OnTime:
    """The on-time figures of one clock under one value of a breakdown."""

    clock: str
    value: str
    measured: int
    met: int
    late_s: float
    extended: int

    @property
    def missed(self) -> int:
        return self.measured - self.met

    @property
    def rate(self) -> float | None:
        return self.met / self.measured if self.measured else None

    @property
    def average_late_s(self) -> float | None:
        """Mean lateness of the missed ones."""
        return self.late_s / self.missed if self.missed else None


def clock_order(clock: str, order: Sequence[str] = ()) -> tuple[int, str]:
    """A clock's place in ``order``, the procedure's order of its clocks (the deployed clock
    catalogue's ``clocks()``: as the run meets their timers); a clock not in it goes last."""
    return (order.index(clock), clock) if clock in order else (len(order), clock)


def on_time(
    connection: Any, period: Period, breakdown: str = "all", order: Sequence[str] = ()
) -> list[OnTime]:
    """L7: on-time figures per clock, and per value of ``breakdown`` (see ``BREAKDOWNS``), the
    clocks in ``order`` (the catalogue's ``clocks()``), then any other by id."""
    if breakdown not in ("all", *BREAKDOWNS):
        raise ValueError(f"breakdown: unknown dimension {breakdown!r}")
    r = with_deltas(ClockRollup).c
    start, end = period.keys
    if breakdown == "month":
        value = func.substr(r.period, 1, 7)
        dimension = "all"
    else:
        value, dimension = r.value, breakdown
    query = (
        select(
            r.clock, value, func.sum(r.measured), func.sum(r.met), func.sum(r.late_s), func.sum(r.extended)
        )
        .where(r.dimension == dimension, r.period >= start, r.period <= end)
        .group_by(r.clock, value)
    )
    rows = [
        OnTime(clock, val or "", int(measured), int(met), float(late or 0), int(extended))
        for clock, val, measured, met, late, extended in connection.execute(query)
        if measured
    ]
    return sorted(rows, key=lambda row: (clock_order(row.clock, order), row.value))


@dataclass(frozen=True)
class Volumes:
    """C4, Annex 1: complaints by business and by nature category (the two totals agree)."""

    total: int
    by_business: dict[str, int]
    by_nature: dict[str, int]
    by_channel: dict[str, int]
    by_type: dict[str, int]
    escalation_by_channel: dict[str, int]
    media_by_channel: dict[str, int]

    @property
    def escalation_total(self) -> int:
        return sum(self.escalation_by_channel.values())

    @property
    def media_total(self) -> int:
        return sum(self.media_by_channel.values())

    @property
    def escalated_total(self) -> int:
        """C5, Annex 1: 升级, complaints transferred from an outside unit (type flag ``escalated``)."""
        return self.by_type.get("escalated", 0)

    @property
    def over_head_total(self) -> int:
        """C5, Annex 1: 越级, complaints whose customer went over the company's head (``over_head``),
        counted apart from 升级: a complaint with both flags counts in both subtotals."""
        return self.by_type.get("over_head", 0)

    @property
    def c4_equal(self) -> bool:
        """C4: the sum over business categories equals the sum over nature categories (and the total)."""
        return sum(self.by_business.values()) == sum(self.by_nature.values()) == self.total


def volumes(connection: Any, period: Period, config: Mapping[str, Any]) -> Volumes:
    """C4: Annex 1 volumes of the complaints accepted in ``period``.

    Every configured category appears (zero when none); escalation channels are those with
    ``escalation = true`` in ``[channels]``, media channels those listed in
    ``[reports] media_channels`` (central-level media counted separately, as a row of its own).
    """
    v = with_deltas(ComplaintVolume).c
    start, end = period.keys
    query = (
        select(v.dimension, v.value, func.sum(v.complaints))
        .where(v.period >= start, v.period <= end)
        .group_by(v.dimension, v.value)
    )
    counts: dict[str, dict[str, int]] = {}
    for dimension, value, complaints in connection.execute(query):
        if complaints:
            counts.setdefault(dimension, {})[value] = int(complaints)

    def listed(dimension: str, table: str) -> dict[str, int]:
        found = dict.fromkeys(config.get(table) or {}, 0)
        found.update(counts.get(dimension, {}))
        return found

    by_channel = listed("channel", "channels")
    channels = config.get("channels") or {}
    escalation = {code: n for code, n in by_channel.items() if (channels.get(code) or {}).get("escalation")}
    media_codes = (config.get("reports") or {}).get("media_channels") or []
    return Volumes(
        total=counts.get("all", {}).get("", 0),
        by_business=listed("business_category", "business_categories"),
        by_nature=listed("nature_category", "nature_categories"),
        by_channel=by_channel,
        by_type=listed("type_flag", "complaint_types"),
        escalation_by_channel=escalation,
        media_by_channel={code: by_channel.get(code, 0) for code in media_codes},
    )


@dataclass(frozen=True)
class AtRisk:
    """A running clock of an open complaint that is overdue or past ``fraction`` of its time."""

    number: str
    instance_id: int
    clock: str
    round: int
    department: str
    started_at: datetime
    due_at: datetime
    elapsed: float  # share of the allowed time used so far (1.0 = due now)
    warn_at: datetime | None = None  # the clock row's warning instant (tasks.warning_share)

    @property
    def overdue(self) -> bool:
        return self.elapsed >= 1.0


def at_risk(
    connection: Any,
    now: datetime,
    fraction: float | Callable[[str], float] | None = None,
    limit: int = 500,
) -> list[AtRisk]:
    """L7: open complaints' clocks overdue or about to be, the most overdue first.

    Without ``fraction`` a clock is listed from its row's ``warn_at`` (the instant the inbox
    turns amber and the warning goes out: one rule, written with the row; rows written before
    ``warn_at`` existed use the default share). A ``fraction`` (one share, or per clock) is a
    reader's own lens ("which clocks have used 90 %?"). Reads only running clocks (index
    ``status, due_at``): closed complaints never have one.
    """
    if fraction is not None and not callable(fraction) and not 0 < fraction <= 1:
        raise ValueError("fraction: must be more than 0 and at most 1")
    lens = fraction is not None
    share = DEFAULT_ABOUT_TO_BREACH if fraction is None else fraction
    share_of = share if callable(share) else (lambda _clock: share)
    c = ComplaintClock
    query = (
        select(
            Complaint.number, c.instance_id, c.clock, c.round, c.department, c.started_at, c.due_at, c.warn_at
        )
        .join(Complaint, Complaint.instance_id == c.instance_id)
        .where(c.status == RUNNING, Complaint.status == "open")
        .order_by(c.due_at)
    )
    found = []
    for number, instance_id, clock, number_round, department, started, due, warn in connection.execute(query):
        allowed = (due - started).total_seconds()
        elapsed = (now - started).total_seconds() / allowed if allowed > 0 else float(now >= due)
        warned = now >= warn if warn is not None and not lens else elapsed >= share_of(clock)
        if warned or now >= due:
            found.append(
                AtRisk(number, instance_id, clock, number_round, department, started, due, elapsed, warn)
            )
        if len(found) >= limit:
            break
    return sorted(found, key=lambda row: (-row.elapsed, row.due_at))


@dataclass(frozen=True)
class ElementHeat:
    """Heat map of one diagram element: tasks of closed complaints, time they took, late ones."""

    element_id: str
    tasks: int
    seconds: float
    late: int

    @property
    def average_s(self) -> float:
        return self.seconds / self.tasks if self.tasks else 0.0


def heat(connection: Any, period: Period) -> list[ElementHeat]:
    e = with_deltas(ElementRollup).c
    start, end = period.keys
    query = (
        select(e.element_id, func.sum(e.tasks), func.sum(e.seconds), func.sum(e.late))
        .where(e.period >= start, e.period <= end)
        .group_by(e.element_id)
    )
    rows = [
        ElementHeat(element, int(n), float(s or 0), int(late))
        for element, n, s, late in connection.execute(query)
    ]
    return sorted(rows, key=lambda row: -row.seconds)


def default_period(today: date, days: int = 90) -> Period:
    return Period(today - timedelta(days=days - 1), today)
