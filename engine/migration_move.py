"""Moving one loaded workflow onto a target version's specs, in memory.

SpiffWorkflow's ``bpmn.util.diff`` aligns specs by walking outputs from the start event,
so it never sees event subprocesses (they hang off no flow): every running complaint has
one open (the first-reply watch), and the library fails with a ``KeyError`` on it. This
module aligns every task of the instance instead (top level, event subprocesses,
subprocesses, call activities) by element id through the plan's mapping, and:

- blocks only when an open task (READY, WAITING, STARTED) or a task already done has no
  element in the target (a done one could be mapped; history must load again);
- keeps WAITING tasks as they are, so **timers keep their due instant**;
- re-opens a READY task only when its definition changed (its pre-script runs again);
  unchanged open tasks keep their data untouched;
- drops cancelled branches whose element is gone and re-predicts predicted ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.util.task import TaskState

from engine.migration_plan import Blocker, element_kind, mapped_name
from engine.spiff import all_workflows, describe_error, timer_due
from engine.spiff_state import _serializer, dump_state, load_state

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED
DONE = TaskState.COMPLETED | TaskState.ERROR
PREDICTED = TaskState.PREDICTED_MASK
IDENTITY_KEYS = frozenset({"name", "bpmn_id", "bpmn_name", "inputs", "outputs", "description"})
"""Spec attributes a rename or a neighbour's rename changes without changing what the task does."""


@dataclass
class Move:
    """One instance's move worked out in memory: the moved workflow, or why it cannot move."""

    workflow: Any
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    state: str | None = None
    """The moved workflow serialized (and loaded back once to prove it loads)."""

    @property
    def blocked(self) -> bool:
        return bool(self.blockers)


class SpecComparer:
    """Which attributes differ between an old and a new task spec; cached for a whole batch."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, int], bool] = {}

    def changed(self, old: Any, new: Any) -> bool:
        key = (id(old), id(new))
        if key not in self._seen:
            before, after = _serializer.registry.convert(old), _serializer.registry.convert(new)
            keys = set(before) | set(after)
            self._seen[key] = any(
                before.get(name) != after.get(name) for name in keys if name not in IDENTITY_KEYS
            )
        return self._seen[key]


def blocker(
    code: str, spec: Any, version: int, process_id: str, state: int | None = None, detail=""
) -> Blocker:
    element_id = getattr(spec, "bpmn_id", None) or spec.name
    return Blocker(
        code=code,
        element_id=element_id,
        element_name=getattr(spec, "bpmn_name", None) or getattr(spec, "description", None) or element_id,
        element_kind=element_kind(spec) if hasattr(spec, "bpmn_id") else "subprocess",
        version=version,
        process_id=process_id,
        state=TaskState.get_name(state) if state is not None else "",
        detail=detail,
    )


def move_workflow(
    workflow: Any,
    process_id: str,
    target_specs: Mapping[str, Any],
    target_version: int,
    script_engine: Any,
    mapping: Mapping[str, str],
    comparer: SpecComparer,
) -> Move:
    """Align, then (unless blocked) re-point every task of ``workflow`` onto the target specs."""
    move = Move(workflow)
    target = _Target(target_specs, target_version, mapping, comparer)
    top_id = mapped_name(process_id, mapping)
    pairs = [(workflow, target_specs.get(top_id), None)]
    for sub_id, sub in workflow.subprocesses.items():
        pairs.append(
            (sub, target_specs.get(mapped_name(sub.spec.name, mapping)), workflow.get_task_from_id(sub_id))
        )
    aligned = _Alignment()
    for wf, new_process, caller in pairs:
        if new_process is None:
            move.blockers.append(_missing_process(wf, caller, target_version))
            continue
        for task in wf.tasks.values():
            _align_task(task, wf, new_process, target, move, aligned)
    if move.blocked:
        return move
    try:
        for wf, new_process, _caller in pairs:
            wf.spec = new_process
        for task, new in aligned.tasks:
            task.task_spec = new
        _drop(aligned.dropped)
        for task in aligned.reopen:
            task.reset_branch(None)
        workflow.subprocess_specs = {name: spec for name, spec in target_specs.items() if name != top_id}
        _repredict_removed(workflow)
    except Exception as error:  # noqa: BLE001 - a pre-script failing on re-opening: do not move
        failure = describe_error(error)
        spec = _spec_named(workflow, failure.element_id) or workflow.spec
        move.blockers.append(blocker("failed", spec, target_version, process_id, detail=str(error)))
        return move
    _check_result(move, workflow, target_version, script_engine)
    return move


@dataclass(frozen=True)
class _Target:
    """What a workflow moves onto, and how its element ids map there."""

    specs: Mapping[str, Any]
    version: int
    mapping: Mapping[str, str]
    comparer: SpecComparer


@dataclass
class _Alignment:
    """The work a move does once nothing blocks it."""

    tasks: list[tuple[Any, Any]] = field(default_factory=list)
    """(task, its new spec)"""
    dropped: list[tuple[Any, Any]] = field(default_factory=list)
    """(workflow, cancelled task) on elements the target no longer has"""
    reopen: list[Any] = field(default_factory=list)
    """READY tasks whose definition changed: their pre-script runs again"""


def _missing_process(wf: Any, caller: Any, target_version: int) -> Blocker:
    """The blocker for a (sub)process the target does not have."""
    if caller is None:
        return blocker("process_missing", wf.spec, target_version, wf.spec.name, TaskState.STARTED)
    code = "done_missing" if caller.state & DONE else "open_missing"
    return blocker(code, caller.task_spec, target_version, wf.spec.name, caller.state)


def _align_task(
    task: Any, wf: Any, new_process: Any, target: _Target, move: Move, aligned: _Alignment
) -> None:
    """Pair one task with its element in the target, or say why it cannot move."""
    old = task.task_spec
    new = new_process.task_specs.get(mapped_name(old.name, target.mapping))
    if new is None:
        _unaligned_task(task, wf, new_process, target, move, aligned)
        return
    aligned.tasks.append((task, new))
    if task.state == TaskState.READY and target.comparer.changed(old, new):
        aligned.reopen.append(task)
    elif task.state == TaskState.WAITING and (due := timer_due(task)) and target.comparer.changed(old, new):
        move.notes.append(
            f"timer {old.bpmn_id} changed in version {target.version}; it keeps its due "
            f"instant {due.isoformat()} (the new definition applies when it is reached again)"
        )


def _unaligned_task(
    task: Any, wf: Any, new_process: Any, target: _Target, move: Move, aligned: _Alignment
) -> None:
    """A task whose element the target lacks: blocks when open or done; cancelled ones are dropped,
    predicted ones predicted again after the move."""
    old = task.task_spec
    if not old.bpmn_id:
        return  # a helper (x.BoundaryEventSplit): its element reports it
    holder = _activity_now_holding(old.bpmn_id, new_process, target.specs)
    if holder is not None and task.state & (OPEN | DONE):
        code, container = holder
        move.blockers.append(blocker(code, old, target.version, wf.spec.name, task.state, detail=container))
    elif task.state & OPEN:
        move.blockers.append(blocker("open_missing", old, target.version, wf.spec.name, task.state))
    elif task.state & DONE:
        move.blockers.append(blocker("done_missing", old, target.version, wf.spec.name, task.state))
    elif task.state == TaskState.CANCELLED:
        aligned.dropped.append((wf, task))


def _spec_named(workflow: Any, element_id: str | None) -> Any:
    for wf in all_workflows(workflow):
        if element_id and element_id in wf.spec.task_specs:
            return wf.spec.task_specs[element_id]
    return None


def _drop(dropped: list[tuple[Any, Any]]) -> None:
    """Cancelled branches on elements the target no longer has: history nobody can reach."""
    for wf, task in dropped:
        if task.id not in wf.tasks:
            continue
        for gone in list(task):
            wf.tasks.pop(gone.id, None)
        if task.parent is not None and task in task.parent.children:
            task.parent.children.remove(task)


def _repredict_removed(workflow: Any) -> None:
    """Predicted tasks left on a removed element: predict their parent's branch again on the new spec."""
    for _ in range(10):  # each pass fixes one level; diagrams are not that deep in removed elements
        orphans = [
            task
            for wf in all_workflows(workflow)
            for task in list(wf.tasks.values())
            if task.state & PREDICTED and wf.spec.task_specs.get(task.task_spec.name) is not task.task_spec
        ]
        parents = {task.parent for task in orphans if task.parent is not None and task.parent not in orphans}
        if not parents:
            return
        for parent in parents:
            state = min((child.state for child in parent.children if child.state & PREDICTED), default=None)
            parent._sync_children(parent.task_spec.outputs, state or TaskState.MAYBE)
            for child in parent.children:
                if child.state & PREDICTED:
                    child.task_spec._predict(child, mask=PREDICTED)


def _activity_now_holding(
    element_id: str, process: Any, target_specs: Mapping[str, Any]
) -> tuple[str, str] | None:
    """The call activity or embedded subprocess of ``process`` (in the target) under which
    ``element_id`` now lives, directly or through a path that one calls, with the blocker code
    that says which: a running instance's tokens cannot follow into a subworkflow that never
    started, whether it is another file's path or a box drawn around the element."""

    def holds(process_id: str, seen: frozenset[str]) -> bool:
        spec = target_specs.get(process_id)
        if spec is None or process_id in seen:
            return False
        if any(task_spec.bpmn_id == element_id for task_spec in spec.task_specs.values()):
            return True
        called = [getattr(task_spec, "spec", None) for task_spec in spec.task_specs.values()]
        return any(holds(name, seen | {process_id}) for name in called if isinstance(name, str))

    for task_spec in process.task_specs.values():
        called = getattr(task_spec, "spec", None)
        if task_spec.bpmn_id and isinstance(called, str) and holds(called, frozenset()):
            code = "moved_into_call" if isinstance(task_spec, CallActivity) else "moved_into_subprocess"
            return code, task_spec.bpmn_id
    return None


def _check_result(move: Move, workflow: Any, version: int, script_engine: Any) -> None:
    """Refuse what the moved workflow cannot do: stale specs, automatic steps, a failed reload."""
    for wf in all_workflows(workflow):
        for task in wf.tasks.values():
            spec = task.task_spec
            if wf.spec.task_specs.get(spec.name) is not spec:
                code = "done_missing" if task.state & DONE else "open_missing"
                move.blockers.append(blocker(code, spec, version, wf.spec.name, task.state))
            elif task.state == TaskState.READY and not spec.manual:
                move.blockers.append(blocker("automatic", spec, version, wf.spec.name, task.state))
    if move.blocked:
        return
    try:
        move.state = dump_state(workflow)
        load_state(move.state, workflow.spec, workflow.subprocess_specs, script_engine)
    except Exception as error:  # noqa: BLE001 - any failure means: do not move it
        move.blockers.append(blocker("failed", workflow.spec, version, workflow.spec.name, detail=str(error)))
