"""The clocks of a deployed version, read from its diagrams' timer events.

A deadline is a timer event carrying ``spiffworkflow:properties`` ``clock`` (the clock id)
and ``figure`` (the config key whose figure it shows). This module lists them, with the
element each one guards, so no clock id, span or element id has to be spelled in Python.
Every process of the version is read (main process, call activities' processes, embedded
and event subprocesses), so timers nested anywhere are found. Versions are immutable: the
catalogue is built once per version (``Runtime.clock_catalogue``) and never goes stale.

An element that ends a clock other than by finishing the element a timer guards (L1's first
reply is recorded by a task elsewhere in the flow) carries the property
``stops_clock = "<clock id>"``; the catalogue lists those too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask

CLOCK_PROPERTY = "clock"
FIGURE_PROPERTY = "figure"
STOPS_PROPERTY = "stops_clock"
STARTS_AT_PROPERTY = "starts_at"
"""On a clock timer: the data variable holding the clock's start instant, when the clock starts
before its timer is armed (``engine.running_clocks``); without it the arming is the start."""


@dataclass(frozen=True)
class ClockTimer:
    """One timer event that measures a clock."""

    clock: str
    """The clock id (the procedure's rule id, e.g. ``L2``)."""
    figure: str | None
    """The config key whose figure the timer shows (``dispatch_deadlines``), when given."""
    element_id: str
    """The timer event's id."""
    process_id: str
    """The process (or subprocess) the timer event is drawn in."""
    guards: str
    """The element whose running the clock measures: the activity a boundary timer is attached
    to, or the event subprocess a timer start event opens."""
    guards_process: str
    """The process that holds ``guards``."""
    kind: str
    """``"boundary"`` or ``"event_start"`` (timer start of an event subprocess) or ``"catch"``."""
    interrupting: bool
    """Whether firing ends the guarded element. SpiffWorkflow 3.2 does not read
    ``isInterrupting`` of an event subprocess start, so those count as non-interrupting."""
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClockCatalogue:
    """Every clock timer of one version, by element id, plus the elements that stop clocks."""

    timers: Mapping[str, ClockTimer]
    stoppers: Mapping[str, str]
    """Element id -> the clock id it stops (``stops_clock``)."""
    contents: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Subprocess or call activity id -> the element ids that run inside it (nested subprocesses
    and called processes included): a boundary timer on such an activity guards all of them."""

    order: tuple[str, ...] = ()
    """Element ids in the order a run meets them (``run_order``): what ``clocks`` sorts by."""

    def clocks(self) -> list[str]:
        """The clock ids, each once, in the order a run meets their timers (``order``), so a
        report lists the clocks as the procedure runs with no list of ids in Python. A timer
        on a subprocess or call activity comes after what runs inside it (T7 on the whole
        escalation path after the path's clocks); timers off every path go last."""
        position = {element: index for index, element in enumerate(self.order)}
        timers = sorted(self.timers.values(), key=lambda timer: position.get(timer.element_id, len(position)))
        return list(dict.fromkeys(timer.clock for timer in timers))

    def timer(self, element_id: str) -> ClockTimer | None:
        return self.timers.get(element_id)

    def of_clock(self, clock: str) -> list[ClockTimer]:
        return [timer for timer in self.timers.values() if timer.clock == clock]

    def figure(self, clock: str) -> str | None:
        """The config key of a clock's figure (the first of its timers that names one)."""
        return next((t.figure for t in self.of_clock(clock) if t.figure), None)

    def guarded_by(self, element_id: str) -> list[ClockTimer]:
        """The timers that guard an element (its boundary timers, an event subprocess's start),
        and the boundary timers of the subprocesses and call activities it runs inside."""
        return [timer for timer in self.timers.values() if element_id in self.guarded_elements(timer)]

    def guarded_elements(self, timer: ClockTimer) -> frozenset[str]:
        """The elements ``timer`` guards: the one it is attached to (or the event subprocess it
        opens) and, for a boundary timer on a subprocess or call activity, everything inside."""
        inside = self.contents.get(timer.guards, frozenset()) if timer.kind == "boundary" else frozenset()
        return frozenset({timer.guards}) | inside


def build_catalogue(specs: Mapping[str, Any]) -> ClockCatalogue:
    """Read every timer event with a ``clock`` property from ``specs`` (process id -> spec).

    Raises ``ValueError`` naming the element when a ``clock`` property is empty, or when one
    element id carries two different clocks across processes.
    """
    parents = _event_subprocess_parents(specs)
    timers: dict[str, ClockTimer] = {}
    stoppers: dict[str, str] = {}
    for process_id, spec in specs.items():
        for task_spec in spec.task_specs.values():
            properties = _properties(task_spec)
            element_id = getattr(task_spec, "bpmn_id", None)
            if element_id is None:
                continue
            if STOPS_PROPERTY in properties:
                stoppers[element_id] = _required(properties, STOPS_PROPERTY, element_id)
            if CLOCK_PROPERTY not in properties:
                continue
            if not isinstance(getattr(task_spec, "event_definition", None), TimerEventDefinition):
                raise ValueError(f"element {element_id!r} carries a clock property but is not a timer event")
            timer = _timer(process_id, task_spec, properties, parents)
            known = timers.get(element_id)
            if known is not None and known.clock != timer.clock:
                raise ValueError(f"element {element_id!r} carries clocks {known.clock!r} and {timer.clock!r}")
            timers.setdefault(element_id, timer)
    return ClockCatalogue(
        timers=timers, stoppers=stoppers, contents=_contents(specs), order=tuple(run_order(specs, parents))
    )


def _timer(process_id: str, task_spec: Any, properties: Mapping[str, str], parents) -> ClockTimer:
    element_id = task_spec.bpmn_id
    clock = _required(properties, CLOCK_PROPERTY, element_id)
    figure = properties.get(FIGURE_PROPERTY) or None
    attached = _attached_to(task_spec)
    if attached is not None:
        guards, guards_process, kind = attached, process_id, "boundary"
        interrupting = bool(getattr(task_spec, "cancel_activity", True))
    elif _is_start(task_spec) and process_id in parents:
        guards, guards_process, kind = process_id, parents[process_id], "event_start"
        interrupting = False
    else:
        guards, guards_process, kind = process_id, process_id, "catch"
        interrupting = False
    return ClockTimer(
        clock=clock,
        figure=figure,
        element_id=element_id,
        process_id=process_id,
        guards=guards,
        guards_process=guards_process,
        kind=kind,
        interrupting=interrupting,
        properties=dict(properties),
    )


def _properties(task_spec: Any) -> dict[str, str]:
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties") or {})


def _required(properties: Mapping[str, str], key: str, element_id: str) -> str:
    value = (properties.get(key) or "").strip()
    if not value:
        raise ValueError(f"element {element_id!r}: property {key!r} is empty")
    return value


def _attached_to(task_spec: Any) -> str | None:
    """The activity a boundary event is attached to (the other output of its split)."""
    for parent in task_spec.inputs:
        if isinstance(parent, BoundaryEventSplit):
            for output in parent.outputs:
                if output is not task_spec and not hasattr(output, "cancel_activity"):
                    return output.bpmn_id or output.name
    return None


def _is_start(task_spec: Any) -> bool:
    return any(getattr(parent, "bpmn_id", None) is None and not parent.inputs for parent in task_spec.inputs)


def _contents(specs: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Subprocess / call activity id -> the element ids inside it, through nested ones."""
    called = {
        task_spec.bpmn_id: task_spec.spec
        for spec in specs.values()
        for task_spec in spec.task_specs.values()
        if isinstance(task_spec, SubWorkflowTask) and task_spec.spec in specs and task_spec.bpmn_id
    }

    def inside(process_id: str, seen: frozenset[str]) -> set[str]:
        found: set[str] = set()
        for task_spec in specs[process_id].task_specs.values():
            element_id = getattr(task_spec, "bpmn_id", None)
            if element_id is None:
                continue
            found.add(element_id)
            nested = called.get(element_id)
            if nested is not None and nested not in seen:
                found |= inside(nested, seen | {nested})
        return found

    return {
        element_id: frozenset(inside(process, frozenset({process}))) for element_id, process in called.items()
    }


def _event_subprocess_parents(specs: Mapping[str, Any]) -> dict[str, str]:
    """Subprocess id -> the process that holds it (events subprocesses, embedded ones, calls)."""
    parents: dict[str, str] = {}
    for process_id, spec in specs.items():
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, SubWorkflowTask) and task_spec.spec in specs:
                parents.setdefault(task_spec.spec, process_id)
    return parents


def run_order(specs: Mapping[str, Any], parents: Mapping[str, str] | None = None) -> list[str]:
    """Element and subprocess ids in the order a run meets them: from each top process's start,
    breadth first along the flows, a subprocess or called process walked where it stands, a
    process's event subprocesses first (they guard it from its start)."""
    parents = _event_subprocess_parents(specs) if parents is None else parents
    inside: dict[str, list[str]] = {}
    for child, parent in parents.items():
        inside.setdefault(parent, []).append(child)
    order: list[str] = []
    walked: set[str] = set()

    def walk(process_id: str) -> None:
        if process_id in walked or process_id not in specs:
            return
        walked.add(process_id)
        order.append(process_id)
        queue = deque([specs[process_id].start])
        met: set[int] = set()
        while queue:
            task_spec = queue.popleft()
            if id(task_spec) in met:
                continue
            met.add(id(task_spec))
            element_id = getattr(task_spec, "bpmn_id", None)
            if element_id:
                order.append(element_id)
            if isinstance(task_spec, SubWorkflowTask):
                walk(task_spec.spec)
            queue.extend(task_spec.outputs)
        for child in inside.get(process_id, []):  # event subprocesses no flow reaches
            walk(child)

    for process_id in specs:
        if process_id not in parents:
            walk(process_id)
    return order


def clock_ids(catalogues: Iterable[ClockCatalogue]) -> list[str]:
    """Every clock id of several versions, each once."""
    return list(dict.fromkeys(clock for catalogue in catalogues for clock in catalogue.clocks()))
