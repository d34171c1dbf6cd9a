"""What-if before deploying (issue 14): a draft's deadlines replayed on the recorded clocks.

A process owner who changes L2 from 2 h to 3 h wants to know what that does before asking for
a deployment. For every clock row of the complaints closed in the last ``days`` days
(``complaint_clocks``, tasks/clocks.py), the due instant is computed again from the row's
recorded start with the *draft's* figures and calendars, by the functions the procedure's
service tasks call (``tasks.deadlines`` on ``tasks.config``'s tables: no second copy of the
arithmetic), and compared with the row's recorded stop: met when stopped <= due. The running
clocks of open complaints are replayed too, against ``now``: those that would be overdue at
once, or within 24 h, if the complaints were migrated to the draft.

What each clock's draft due is (docs/modeler.md, "What if"):

* ``L2``: the start (acceptance) + ``[dispatch_deadlines]`` of the order type.
* ``L4``: the start (the dispatch) + ``[handling_deadlines]`` of the order type; in round 1
  never later than the outside unit's deadline (T6, as ``set_handling_deadline``). E3: the
  granted extensions moved the recorded due by ``due - first due``; the same length is added
  to the draft's due. E5: rework keeps the due set at dispatch and the last completion
  counts; the row already holds that start and that stop, so the replay does the same.
* ``R4``: the start (the department's valid reply, issue 11) + ``[reply_deadline]`` working time on the
  draft's reply calendar (night and lunch excluded, as the draft's windows say).
* Order type (H1): a V1 second round is urgent; round 1 has the complaint's order type, or
  the one its type flags give when a second dispatch has since made the complaint urgent.
* Any other clock (``L1`` 24 h from receipt, ``L6`` 48 h written in the diagram's script,
  ``T7`` the outside unit's date) is not a figure of procedure.toml: its recorded due is
  kept, so its draft rate equals the actual one, and ``replayed`` says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine import drafts
from engine.calendar import WorkingCalendar
from engine.clock_catalogue import ClockCatalogue
from engine.deployments import bundle_config, latest_deployment
from tasks import config as cfg
from tasks import deadlines
from tasks.clocks import MET, MISSED, RUNNING, ComplaintClock
from tasks.records import Complaint
from tasks.reports import clock_order

DEFAULT_DAYS = 30
MAX_DAYS = 365
SOON = timedelta(hours=24)


@dataclass(frozen=True)
class DraftFigures:
    """The draft's deadline figures and reply calendar, read (and checked) once."""

    dispatch: Mapping[str, str]
    handling: Mapping[str, str]
    reply_calendar: WorkingCalendar
    reply_time: str

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> DraftFigures:
        """Raises ValueError naming the table of the draft's procedure.toml that cannot be used."""
        calendar, working_time = cfg.reply_calendar(config)
        figures = cls(
            dispatch=cfg.table(config, "dispatch_deadlines"),
            handling=cfg.table(config, "handling_deadlines"),
            reply_calendar=calendar,
            reply_time=working_time,
        )
        for kind in (deadlines.ORDINARY, deadlines.URGENT):
            _probe("dispatch_deadlines", deadlines.dispatch_due, _PROBE, kind, figures.dispatch)
            _probe("handling_deadlines", deadlines.handling_due, _PROBE, kind, figures.handling)
        _probe("reply_deadline", deadlines.reply_due, _PROBE, calendar, working_time)
        return figures


_PROBE = datetime(2026, 1, 5, 9, tzinfo=UTC)  # any instant: only the figures are being checked


def _probe(table: str, compute: Callable[..., Any], *args: Any) -> None:
    """Every figure once, before the history, so a bad one is named with its table."""
    try:
        compute(*args)
    except ValueError as error:
        raise ValueError(f"procedure.toml [{table}]: {error}") from None


@dataclass(frozen=True)
class RecordedClock:
    """One clock row as recorded, with what its complaint tells about its order type."""

    instance_id: int
    number: str
    clock: str
    round: int
    status: str
    started_at: datetime
    due_at: datetime
    first_due_at: datetime
    stopped_at: datetime | None
    priority: str
    type_flags: str
    outside_due: datetime | None
    last_round: int

    @property
    def order_type(self) -> str:
        """H1 for this round: V1 rounds are urgent; V1 overwrote round 1's order type on the record."""
        if self.round > 1:
            return deadlines.URGENT
        if self.last_round > 1:
            return deadlines.order_type(flag for flag in self.type_flags.split(",") if flag)
        return self.priority or deadlines.ORDINARY


def _dispatch(row: RecordedClock, figures: DraftFigures) -> datetime:
    return deadlines.instant(deadlines.dispatch_due(row.started_at, row.order_type, figures.dispatch))


def _handling(row: RecordedClock, figures: DraftFigures) -> datetime:
    due = deadlines.instant(deadlines.handling_due(row.started_at, row.order_type, figures.handling))
    if row.round == 1 and row.outside_due is not None:
        due = min(due, row.outside_due)  # T6
    return due + (row.due_at - row.first_due_at)  # E3: the extensions' length


def _reply(row: RecordedClock, figures: DraftFigures) -> datetime:
    return deadlines.instant(deadlines.reply_due(row.started_at, figures.reply_calendar, figures.reply_time))


DRAFT_DUE: dict[str, Callable[[RecordedClock, DraftFigures], datetime]] = {
    "dispatch_deadlines": _dispatch,
    "handling_deadlines": _handling,
    "reply_deadline": _reply,
}
"""By the procedure.toml key a clock's timer shows (its ``figure`` property): the clocks whose due
the draft's figures decide (L2, L4, R4 today); the others keep their recorded due."""


def draft_due(row: RecordedClock, figures: DraftFigures, figure: str | None) -> datetime:
    """The due ``row`` would have had under the draft; ``figure``: the key its clock's timer shows."""
    compute = DRAFT_DUE.get(figure or "")
    return compute(row, figures) if compute is not None else row.due_at


@dataclass
class ClockReplay:
    """One clock's figures over the closed complaints: recorded, and under the draft."""

    clock: str
    figure: str | None = None
    """The procedure.toml key the clock's timer shows."""
    measured: int = 0
    met_actual: int = 0
    met_draft: int = 0

    @property
    def replayed(self) -> bool:
        return (self.figure or "") in DRAFT_DUE

    @property
    def rate_actual(self) -> float:
        return self.met_actual / self.measured

    @property
    def rate_draft(self) -> float:
        return self.met_draft / self.measured

    @property
    def difference(self) -> float:
        """Draft minus actual, as a share (0.25 is 25 percentage points better)."""
        return self.rate_draft - self.rate_actual


@dataclass(frozen=True)
class AtRisk:
    """A running clock that would be overdue at once, or within 24 h, under the draft."""

    instance_id: int
    number: str
    clock: str
    round: int
    due_actual: datetime
    due_draft: datetime


@dataclass(frozen=True)
class WhatIf:
    days: int
    since: datetime
    now: datetime
    clocks: list[ClockReplay]
    overdue_at_once: list[AtRisk]
    overdue_within_day: list[AtRisk]
    complaints: int
    """Closed complaints replayed."""


def _recorded(connection: Any, *conditions: Any) -> list[RecordedClock]:
    clocks = ComplaintClock
    rounds = (
        select(clocks.instance_id, func.max(clocks.round).label("last_round"))
        .group_by(clocks.instance_id)
        .subquery()
    )
    query = (
        select(
            clocks.instance_id,
            Complaint.number,
            clocks.clock,
            clocks.round,
            clocks.status,
            clocks.started_at,
            clocks.due_at,
            clocks.first_due_at,
            clocks.stopped_at,
            Complaint.priority,
            Complaint.type_flags,
            Complaint.outside_due,
            rounds.c.last_round,
        )
        .join(Complaint, Complaint.instance_id == clocks.instance_id)
        .join(rounds, rounds.c.instance_id == clocks.instance_id)
        .where(*conditions)
        .order_by(clocks.instance_id, clocks.clock, clocks.round)
    )
    return [RecordedClock(*row) for row in connection.execute(query)]


def replay(
    connection: Any,
    config: Mapping[str, Any],
    catalogue: ClockCatalogue,
    *,
    now: datetime,
    days: int = DEFAULT_DAYS,
) -> WhatIf:
    """The draft (its parsed procedure.toml) replayed on the last ``days`` days up to ``now``.

    ``catalogue``: the deployed clocks, which say which figure each clock shows and the order
    the procedure runs into them (no clock id in Python)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days: a whole number from 1 to {MAX_DAYS}")
    figures = DraftFigures.of(config)
    since = now - timedelta(days=days)
    closed = _recorded(
        connection,
        Complaint.status == "closed",
        Complaint.closed_at >= since,
        Complaint.closed_at <= now,
        ComplaintClock.status.in_((MET, MISSED)),
    )
    order = catalogue.clocks()
    per_clock: dict[str, ClockReplay] = {}
    for row in closed:
        figure = catalogue.figure(row.clock)
        replayed = per_clock.setdefault(row.clock, ClockReplay(row.clock, figure))
        replayed.measured += 1
        replayed.met_actual += row.status == MET
        replayed.met_draft += row.stopped_at is not None and row.stopped_at <= draft_due(row, figures, figure)
    risks: dict[bool, list[AtRisk]] = defaultdict(list)
    running = _recorded(connection, Complaint.status != "closed", ComplaintClock.status == RUNNING)
    for row in running:
        due = draft_due(row, figures, catalogue.figure(row.clock))
        if due <= now + SOON:
            risk = AtRisk(row.instance_id, row.number, row.clock, row.round, row.due_at, due)
            risks[due <= now].append(risk)
    return WhatIf(
        days=days,
        since=since,
        now=now,
        clocks=sorted(per_clock.values(), key=lambda found: clock_order(found.clock, order)),
        overdue_at_once=sorted(risks[True], key=lambda risk: risk.due_draft),
        overdue_within_day=sorted(risks[False], key=lambda risk: risk.due_draft),
        complaints=len({row.instance_id for row in closed}),
    )


def replay_draft(engine: Any, draft: drafts.DraftView, *, days: int = DEFAULT_DAYS) -> WhatIf:
    """The draft as last saved, replayed on the engine's history up to the engine clock's now.

    Raises ValueError when its procedure.toml cannot be read or lacks a figure.
    """
    config = bundle_config(draft.bundle)
    with engine.reader() as session:
        deployment = latest_deployment(session)
        catalogue = engine.runtime(deployment.id).clock_catalogue if deployment else ClockCatalogue({}, {})
        return replay(session.connection(), config, catalogue, now=engine.clock.now(), days=days)
