"""A clock's outcome, from its timers alone: started, due, first due, stopped, met or missed.

The readings (``engine.running_clocks``) of one clock in one round are the timer tasks armed
for it: one per entry into the guarded activity. This module folds them into one outcome,
so no diagram measures a deadline in a script and no Python names a clock:

* running while any of its timers waits (the guarded activity is open: after an E5 return
  the clock re-runs on the carried due);
* stopped at the last completion of the guarded activity (or ``stops_clock`` element) once no
  timer waits: the LAST accepted work counts; met when that instant is not after the due in
  force, else missed by the difference (a timer that fired and whose activity has not
  completed yet leaves the clock running, already overdue);
* the due is the latest armed timer's. For a date timer (the due the process carries) a
  later armed due than the one before is an extension (E3), the first due being the one
  armed first; a span timer re-armed is a new wait (a review done again after rework): the
  clock restarts at that arming, with no extension.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from engine.running_clocks import FIRED, WAITING, ClockReading

RUNNING, MET, MISSED = "running", "met", "missed"


@dataclass(frozen=True)
class ClockOutcome:
    """One clock of one round, as its timers tell it."""

    clock: str
    round: int
    status: str
    """``running``, ``met`` or ``missed``."""
    started_at: datetime | None
    due_at: datetime
    first_due_at: datetime
    extensions: int
    stopped_at: datetime | None
    late_by_s: float | None
    fired: bool
    """A timer of the clock fired (the due passed while the guarded work was open)."""
    figure: str | None
    kind: str


def clock_outcomes(readings: Iterable[ClockReading]) -> dict[tuple[str, int], ClockOutcome]:
    """Every clock and round of the readings, keyed ``(clock, round)``, in arming order."""
    grouped: dict[tuple[str, int], list[ClockReading]] = {}
    for reading in sorted(readings, key=_armed):
        grouped.setdefault((reading.clock, reading.round), []).append(reading)
    return {key: _outcome(key, found) for key, found in grouped.items()}


def _armed(reading: ClockReading) -> datetime:
    return reading.armed_at or reading.due_at


def _outcome(key: tuple[str, int], readings: list[ClockReading]) -> ClockOutcome:
    latest = readings[-1]
    dues = [reading.due_at for reading in readings]
    extensions = sum(1 for before, after in zip(dues, dues[1:], strict=False) if after > before)
    started = min((r.armed_at for r in readings if r.armed_at), default=None)
    if latest.restarts and len(readings) > 1:
        dues, extensions, started = [latest.due_at], 0, latest.armed_at or started
    waiting = [reading for reading in readings if reading.state == WAITING]
    stopped = [reading for reading in readings if reading.stopped_at is not None]
    status, stop, late = RUNNING, None, None
    due = waiting[-1].due_at if waiting else latest.due_at
    if not (waiting and latest.kind == "boundary") and stopped:
        last = max(stopped, key=lambda reading: reading.stopped_at)
        stop, due = last.stopped_at, last.due_at
        late = max((stop - due).total_seconds(), 0.0)
        status = MET if stop <= due else MISSED
    return ClockOutcome(
        clock=key[0],
        round=key[1],
        status=status,
        started_at=started,
        due_at=due,
        first_due_at=dues[0],
        extensions=extensions,
        stopped_at=stop,
        late_by_s=late,
        fired=any(reading.state == FIRED for reading in readings),
        figure=latest.figure,
        kind=latest.kind,
    )
