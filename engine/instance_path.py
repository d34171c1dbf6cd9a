"""Where a running instance is, diagram by diagram: the current path through the call activities.

A *scope* is the chain of call-activity ids from the instance's top process down to one
called process: ``()`` is the top diagram (the map), ``("call_handling",)`` the handling
path as the map calls it, ``("call_escalation", "call_handling")`` handling as escalation
calls it. Marks are kept per scope, not per process, because one process may be called
from several places and each call has its own progress. Embedded and event subprocesses
are drawn on their parent's diagram, so their tasks belong to the parent's scope.

Per scope: the completed and current elements, the *focus* (ready human tasks, and the
call activities leading to one: what "show current" centres on) and the *flagged* ones
(the caller's choice, e.g. overdue human tasks; flags climb to the call activities too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.util.task import TaskState

from engine.diagram_index import DiagramIndex
from engine.spiff import all_workflows, enclosing_tasks

_CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED

Scope = tuple[str, ...]


@dataclass
class ScopeMarks:
    process_id: str
    completed: set[str] = field(default_factory=set)
    current: set[str] = field(default_factory=set)
    focus: set[str] = field(default_factory=set)
    flagged: set[str] = field(default_factory=set)

    def as_dict(self, scope: Scope) -> dict[str, Any]:
        return {
            "scope": list(scope),
            "process": self.process_id,
            "completed": sorted(self.completed),
            "current": sorted(self.current),
            "focus": sorted(self.focus),
            "flagged": sorted(self.flagged),
        }


@dataclass(frozen=True)
class InstancePath:
    scopes: dict[Scope, ScopeMarks]

    @property
    def current_path(self) -> Scope:
        """The deepest scope holding a ready human task (else any current element): opened first."""
        for want in ("focus", "current"):
            marked = (scope for scope, marks in self.scopes.items() if getattr(marks, want))
            deepest = max(marked, key=len, default=None)
            if deepest is not None:
                return deepest
        return ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "scopes": [marks.as_dict(scope) for scope, marks in sorted(self.scopes.items())],
            "current_path": list(self.current_path),
        }


def instance_path(workflow: Any, index: DiagramIndex, flagged_task_ids: Iterable[str] = ()) -> InstancePath:
    """The marks of a loaded workflow per scope; ``flagged_task_ids``: task ids (str) to flag."""
    flagged_ids = {str(task_id) for task_id in flagged_task_ids}
    calls = index.calls
    top = workflow.spec.name
    scopes: dict[Scope, ScopeMarks] = {(): ScopeMarks(top)}
    for wf in all_workflows(workflow):
        scope = tuple(
            task.task_spec.bpmn_id for task in enclosing_tasks(wf) if task.task_spec.bpmn_id in calls
        )
        marks = scopes.get(scope)
        if marks is None:
            marks = scopes[scope] = ScopeMarks(calls[scope[-1]].called if scope else top)
        for task in wf.tasks.values():
            element = task.task_spec.bpmn_id
            if element is None:  # SpiffWorkflow's own helper tasks (splits, joins, root)
                continue
            if task.state == TaskState.COMPLETED:
                marks.completed.add(element)
            elif task.state & _CURRENT:
                marks.current.add(element)
                if task.state == TaskState.READY and task.task_spec.manual:
                    marks.focus.add(element)
                if str(task.id) in flagged_ids:
                    marks.flagged.add(element)
    for scope, marks in list(scopes.items()):
        for depth in range(len(scope)):
            parent = scopes.setdefault(
                scope[:depth], ScopeMarks(calls[scope[depth - 1]].called if depth else top)
            )
            if marks.focus:
                parent.focus.add(scope[depth])
            if marks.flagged:
                parent.flagged.add(scope[depth])
    return InstancePath(scopes)
