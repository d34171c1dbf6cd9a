"""What the workflow's clock timers say right now: armed (with due), fired, cancelled, stopped.

The catalogue (``engine.clock_catalogue``) names the timer events that measure a clock; this
module reads their tasks off a loaded workflow (every subworkflow included) in memory, with
no query, so a command can hand the readings to the projections that keep the running-clocks
read model (``engine.handlers.Projection.clocks``; outcomes: ``engine.clock_outcomes``).

SpiffWorkflow records no instant of our clock (its ``last_state_change`` is wall time), so
the first command that sees a change stamps the engine's ``now`` into the task's internal
data, which is serialized with the instance:

* ``clock_armed_at`` on a timer task seen WAITING: the clock's start (or the instant in the
  data variable its ``starts_at`` property names, for a clock that starts before its timer is
  armed: R4 from the reply the review then accepts);
* ``clock_stopped_at`` on a boundary timer task whose guarded activity is seen COMPLETED
  (whether the timer was cancelled by it or had fired before): the clock's stop;
* ``clock_stopped_at`` on a completed task of an element carrying ``stops_clock``;
* ``clock_stopped_at`` on an interrupting timer task seen fired: it ended the guarded work
  (L6: the call-back window closes), so the clock stops there, missed.

That command is the one that made the change, because every command reads the clocks
before it saves. A *round* is one run of the (sub)process the timer is drawn in: the n-th
subworkflow of that process (creation order) is round n, the top workflow round 1, so a
path entered again from the map (V1 second dispatch) measures its clocks anew while a loop
inside the path (E5 rework, E3 extension) re-arms the same round's clock.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.clock_catalogue import ClockCatalogue
from engine.property_names import STARTS_AT
from engine.spiff import all_workflows, timer_due

ARMED_AT_KEY = "clock_armed_at"
STOPPED_AT_KEY = "clock_stopped_at"
WAITING, FIRED, CANCELLED = "waiting", "fired", "cancelled"


@dataclass(frozen=True)
class ClockReading:
    """One clock timer task: its clock, due instant, state, when it was armed and stopped."""

    clock: str
    element_id: str
    guards: str
    figure: str | None
    kind: str
    """The timer's kind in the catalogue: a waiting ``boundary`` timer means the guarded
    activity is running; a waiting ``event_start`` timer only that its due has not come."""
    state: str
    """``waiting`` (the clock runs), ``fired`` (the due instant passed while guarded) or
    ``cancelled`` (the guarded element finished first: the clock stopped in time)."""
    due_at: datetime
    armed_at: datetime | None
    stopped_at: datetime | None = None
    """When the guarded activity of this timer task completed (None: not yet, or never)."""
    round: int = 1
    restarts: bool = False
    """A span timer (``timeDuration``/cycle): each arming is a wait of its own, so a re-armed
    later due is a new start, not an extension. A date timer (``timeDate``) reads a due the
    process carries: re-armed later, the due was moved (an extension)."""


@dataclass(frozen=True)
class StopMark:
    """A completed element carrying ``stops_clock``: it stops ``clock`` of its round at ``at``."""

    clock: str
    element_id: str
    at: datetime
    round: int = 1


def read_clocks(workflow, catalogue: ClockCatalogue, now: datetime) -> tuple[ClockReading, ...]:
    """Every clock timer task of ``workflow`` that has a due instant, stamping new ones with ``now``.

    A ``stops_clock`` completion is folded into the reading of its clock and round it ends:
    for a boundary clock the latest reading armed before it, whose stop moves to the later
    instant (a written reply is measured when it is sent, after its draft left the guarded
    task); for an event-start clock (a whole path guarded) the first such completion.
    """
    events = read_clock_events(workflow, catalogue, now)
    readings = [event for event in events if isinstance(event, ClockReading)]
    for mark in sorted((e for e in events if isinstance(e, StopMark)), key=lambda m: m.at):
        _fold(readings, mark)
    return tuple(readings)


def _fold(readings: list[ClockReading], mark: StopMark) -> None:
    candidates = [
        (position, reading)
        for position, reading in enumerate(readings)
        if reading.clock == mark.clock
        and reading.round == mark.round
        and (reading.armed_at is None or reading.armed_at <= mark.at)
    ]
    if not candidates:
        return
    position, reading = max(candidates, key=lambda found: found[1].armed_at or found[1].due_at)
    if reading.kind == "boundary":
        stopped = max(filter(None, (reading.stopped_at, mark.at)))
    else:
        stopped = reading.stopped_at or mark.at
    readings[position] = replace(reading, stopped_at=stopped)


def read_clock_events(
    workflow, catalogue: ClockCatalogue, now: datetime
) -> tuple[ClockReading | StopMark, ...]:
    """The clock timers' readings and the ``stops_clock`` completions, stamping as described above."""
    if not catalogue.timers and not catalogue.stoppers:
        return ()
    found: list[ClockReading | StopMark] = []
    for wf, number in _rounds(workflow):
        for task in wf.tasks.values():
            element_id = getattr(task.task_spec, "bpmn_id", None) or ""
            timer = catalogue.timers.get(element_id)
            if timer is not None:
                reading = _reading(task, timer, now, number)
                if reading is not None:
                    found.append(reading)
            stops = catalogue.stoppers.get(element_id)
            if stops is not None and task.state == TaskState.COMPLETED:
                at = _stamp(task, STOPPED_AT_KEY, stop_instant(task.last_state_change, now, time.time()))
                found.append(StopMark(stops, element_id, at, number))
    return tuple(found)


def _reading(task, timer, now: datetime, number: int) -> ClockReading | None:
    due = timer_due(task)
    state = _state(task.state)
    if due is None or state is None:
        return None
    armed = task.internal_data.get(ARMED_AT_KEY)
    if armed is None and state == WAITING:
        armed = _stamp(task, ARMED_AT_KEY, _carried_start(task, timer) or now).isoformat()
    stopped = None
    guarded = _guarded_completed(task, timer.guards) if timer.kind == "boundary" else None
    if guarded is not None:
        stopped = _stamp(task, STOPPED_AT_KEY, stop_instant(guarded.last_state_change, now, time.time()))
    elif timer.interrupting and state == FIRED:
        # An interrupting timer ends what it guards: the clock stops, missed, when it fires.
        stopped = _stamp(task, STOPPED_AT_KEY, stop_instant(task.last_state_change, now, time.time()))
    return ClockReading(
        clock=timer.clock,
        element_id=timer.element_id,
        guards=timer.guards,
        figure=timer.figure,
        kind=timer.kind,
        state=state,
        due_at=due,
        armed_at=datetime.fromisoformat(armed) if armed else None,
        stopped_at=stopped,
        round=number,
        restarts=not isinstance(task.task_spec.event_definition, TimeDateEventDefinition),
    )


def _carried_start(task, timer) -> datetime | None:
    """The clock's start the process carries, when the timer names it (``starts_at`` = a data
    variable holding an ISO instant): a clock that started before its timer could be armed (a
    deadline counted from an earlier event). None when not named or not (yet) an instant."""
    name = (timer.properties.get(STARTS_AT) or "").strip()
    if not name:
        return None
    value = task.data.get(name)
    if value is None and task.parent is not None:
        value = task.parent.data.get(name)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None


RECENT_S = 600.0


def _stamp(task, key: str, now: datetime) -> datetime:
    """The instant stamped under ``key`` on the task, stamping ``now`` the first time."""
    value = task.internal_data.get(key)
    if value is None:
        value = now.isoformat()
        task.internal_data[key] = value
    return datetime.fromisoformat(value)


def _guarded_completed(timer_task, guards: str):
    """The completed activity task this boundary timer task was armed for, or None.

    The timer and its activity are children of the same boundary-event split task.
    """
    parent = timer_task.parent
    if parent is None:
        return None
    for sibling in parent.children:
        if getattr(sibling.task_spec, "bpmn_id", None) == guards and sibling.state == TaskState.COMPLETED:
            return sibling
    return None


def stop_instant(changed_at: float, now: datetime, wall_now: float) -> datetime:
    """The stop of a completion seen unstamped: ``now`` when it happened in this command.

    A completion whose (wall-clock) state change is older than ``RECENT_S`` happened before
    this engine stamped stops (an instance running at the upgrade): its own instant is the
    best record of it. A command never runs that long, so a fresh one always takes ``now``
    (the engine clock: simulated time in tests and replays).
    """
    if wall_now - changed_at <= RECENT_S:
        return now
    return datetime.fromtimestamp(changed_at, UTC).astimezone(now.tzinfo)


def _rounds(workflow):
    """Each (sub)workflow with its round: the ordinal of its run among runs of the same process."""
    seen: Counter = Counter()
    for wf in all_workflows(workflow):
        name = wf.spec.name
        seen[name] += 1
        yield wf, seen[name]


def _state(state: TaskState) -> str | None:
    if state == TaskState.WAITING:
        return WAITING
    if state & (TaskState.READY | TaskState.COMPLETED):
        return FIRED
    if state == TaskState.CANCELLED:
        return CANCELLED
    return None
