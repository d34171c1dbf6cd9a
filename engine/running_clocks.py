"""What the workflow's clock timers say right now: armed (with due), fired or cancelled.

The catalogue (``engine.clock_catalogue``) names the timer events that measure a clock; this
module reads their tasks off a loaded workflow (every subworkflow included) in memory, with
no query, so a command can hand the readings to the projections that keep the running-clocks
read model (``engine.handlers.Projection.clocks``).

When a clock timer arms, SpiffWorkflow records no instant of our clock (its own
``last_state_change`` is wall time), so the first command that sees the timer WAITING
stamps ``armed_at`` into the task's internal data: it is serialized with the instance, and
every later reading of that timer task carries the same start. That command is the one
that armed it, because every command reads the clocks before it saves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.util.task import TaskState

from engine.clock_catalogue import ClockCatalogue
from engine.spiff import all_workflows, timer_due

ARMED_AT_KEY = "clock_armed_at"
WAITING, FIRED, CANCELLED = "waiting", "fired", "cancelled"


@dataclass(frozen=True)
class ClockReading:
    """One clock timer task: its clock, due instant, state, and when it was armed."""

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


def read_clocks(workflow, catalogue: ClockCatalogue, now: datetime) -> tuple[ClockReading, ...]:
    """Every clock timer task of ``workflow`` that has a due instant, stamping new ones with ``now``."""
    if not catalogue.timers:
        return ()
    readings = []
    for wf in all_workflows(workflow):
        for task in wf.tasks.values():
            timer = catalogue.timers.get(getattr(task.task_spec, "bpmn_id", None) or "")
            if timer is None:
                continue
            due = timer_due(task)
            if due is None:
                continue
            state = _state(task.state)
            if state is None:
                continue
            armed = task.internal_data.get(ARMED_AT_KEY)
            if armed is None and state == WAITING:
                armed = now.isoformat()
                task.internal_data[ARMED_AT_KEY] = armed
            readings.append(
                ClockReading(
                    clock=timer.clock,
                    element_id=timer.element_id,
                    guards=timer.guards,
                    figure=timer.figure,
                    kind=timer.kind,
                    state=state,
                    due_at=due,
                    armed_at=datetime.fromisoformat(armed) if armed else None,
                )
            )
    return tuple(readings)


def _state(state: TaskState) -> str | None:
    if state == TaskState.WAITING:
        return WAITING
    if state & (TaskState.READY | TaskState.COMPLETED):
        return FIRED
    if state == TaskState.CANCELLED:
        return CANCELLED
    return None
