"""Deriving the human-task rows from a workflow after each command.

The rows are what inboxes query (candidate group, assignee, priority, due time);
they are rewritten in the command's own transaction, so they never disagree with
the instance state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.task import Task

from engine.deployments import Runtime
from engine.property_names import ASSIGNEE, CANDIDATE_GROUP, FORM, PRIORITY, VALIDATOR
from engine.spiff import boundary_timers_of, ready_human_tasks, task_properties
from engine.store import NewTask, Store

VALIDATOR_PROPERTY = VALIDATOR  # the name engine/service.py imports; drop after the perf branch merges


@dataclass(frozen=True)
class ClosedTask:
    task_id: str
    element_id: str
    status: str


@dataclass
class TaskChanges:
    opened: list[NewTask] = field(default_factory=list)
    closed: list[ClosedTask] = field(default_factory=list)

    def as_detail(self) -> dict[str, list[str]]:
        return {
            "opened": [task.element_id for task in self.opened],
            "opened_ids": [task.id for task in self.opened],
            "closed": [f"{closed.element_id}:{closed.status}" for closed in self.closed],
        }


def open_task_ids(workflow) -> dict[str, str]:
    """The workflow's READY human tasks as ``{task id: element id}``: what the rows say is open."""
    return {str(task.id): task.task_spec.bpmn_id for task in ready_human_tasks(workflow)}


def sync_human_tasks(
    store: Store,
    instance_id: int,
    workflow,
    runtime: Runtime,
    *,
    before: dict[str, str],
    now: datetime,
    actor: str,
    completed_task_id: str | None = None,
) -> TaskChanges:
    """Close the rows of tasks that left READY, insert rows for tasks that entered it.

    ``before`` is ``open_task_ids`` taken before the command ran: the open rows match
    it by construction, so no query is needed to find what changed.
    """
    ready = {str(task.id): task for task in ready_human_tasks(workflow)}
    changes = TaskChanges()
    for task_id, element_id in before.items():
        if task_id not in ready:
            # Completed by this command's actor, or withdrawn by the process (an interrupting
            # timer, an ended branch): people see the difference in the task history.
            status = "completed" if task_id == completed_task_id else "cancelled"
            changes.closed.append(ClosedTask(task_id, element_id, status))
    for status in ("completed", "cancelled"):
        store.close_tasks(
            (closed.task_id for closed in changes.closed if closed.status == status), status, now, actor
        )
    changes.opened = [_new_task(task, runtime) for task_id, task in ready.items() if task_id not in before]
    store.insert_tasks(instance_id, changes.opened, now)
    return changes


def _new_task(task: Task, runtime: Runtime) -> NewTask:
    properties = task_properties(task)
    lane = task.task_spec.lane
    dues = boundary_timers_of(task)
    return NewTask(
        id=str(task.id),
        element_id=task.task_spec.bpmn_id,
        name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
        lane=lane,
        candidate_group=_from_data(task, properties.get(CANDIDATE_GROUP), runtime)
        or runtime.candidate_group(lane),
        form=properties.get(FORM),
        priority=_priority(task, properties, runtime),
        due_at=min(dues) if dues else None,
        assignee=_from_data(task, properties.get(ASSIGNEE), runtime),
    )


def _from_data(task: Task, expression: str | None, runtime: Runtime) -> str | None:
    """A group or person the data names (``candidateGroup`` / ``assignee`` properties).

    One task can then serve whichever department or person the data chose, instead of a
    copy of the task per lane. An empty value, or a name the data does not have, falls back
    to the lane's group (candidate group) or leaves the task unclaimed (assignee).
    """
    if not expression:
        return None
    try:
        value = runtime.script_engine.evaluate(task, expression)
    except WorkflowTaskException as error:
        # A name the data does not have (yet) means "not named": e.g. start data that only
        # some entries give. Any other failure is a modelling error and surfaces.
        if error.error_type == "NameError":
            return None
        raise
    return value.strip() if isinstance(value, str) and value.strip() else None


def _priority(task: Task, properties: dict[str, str], runtime: Runtime) -> int:
    """The task's ``priority`` property (an expression), else the instance's ``priority`` data."""
    expression = properties.get(PRIORITY)
    value = runtime.script_engine.evaluate(task, expression) if expression else task.data.get("priority", 0)
    return int(value) if isinstance(value, int | float) else 0
