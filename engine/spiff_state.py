"""Instance state as JSON: SpiffWorkflow's own format, minus the specs, made cheap to write.

An instance is saved on every command, so this is the hot path of the engine:
- the specs are stored once per version, so they are neither converted nor written;
- a settled task (a finished one, or one predicted for the not-yet-reached rest of
  the process) does not change while it stays settled, so its dict and its JSON
  text are kept on the live task and reused, keyed by everything its dict depends
  on (see ``_memo_key``). READY, WAITING and STARTED tasks, whose data changes in
  place, are written afresh every time.
The output is exactly the JSON SpiffWorkflow's serializer would give for the same
dict (tests/engine/test_spiff_state.py checks it after every step of real runs).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs import AdHocSubprocessSpec, BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
_registry = _serializer.registry
_encode = _serializer._encoder_cls(separators=(",", ":")).encode
_SPEC_KEYS = ("spec", "subprocess_specs")
_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
_NOT_YET_REACHED = TaskState.PREDICTED_MASK | TaskState.FUTURE
_dumping = threading.local()


class _Memo:
    __slots__ = ("key", "json")

    def __init__(self, key: tuple, text: str) -> None:
        self.key, self.json = key, text


def _memo_key(task: Task) -> tuple | None:
    """What a task's JSON depends on, or None when it may change without any of it moving.

    SpiffWorkflow writes a task's data as a delta against its parent's data, so the
    parent's data counts too: it is frozen once the parent finished; and for a task
    with no data of its own (every task not reached yet) the delta is just the names of
    the parent's keys.
    """
    parent = task.parent
    if task.state & _FINISHED and (parent is None or parent.state & _FINISHED):
        parent_part = None
    elif task.state & _NOT_YET_REACHED and not task.data:
        parent_part = tuple(parent.data) if parent is not None else None
    else:
        return None
    return (
        task.state,
        task.last_state_change,
        task.triggered,
        tuple(task._children),
        id(task.data),
        len(task.data),
        id(task.internal_data),
        len(task.internal_data),
        parent_part,
    )


def _skip_specs_while_dumping() -> None:
    for spec_class in (BpmnProcessSpec, AdHocSubprocessSpec):
        spec_type = _registry.typenames[spec_class]
        plain_spec = _registry.convert_to_dict[spec_type]

        def convert_spec(spec, plain_spec=plain_spec):
            return None if getattr(_dumping, "active", False) else plain_spec(spec)

        _registry.convert_to_dict[spec_type] = convert_spec


_skip_specs_while_dumping()
_convert_task = _registry.convert_to_dict[_registry.typenames[Task]]


def dump_state(workflow: BpmnWorkflow) -> str:
    """The instance's own state as JSON, without the specs (stored once per version).

    SpiffWorkflow converts everything but the task mappings (emptied for the call);
    the tasks are written here, each settled one from its cached JSON text.
    """
    workflows = {None: workflow, **{str(key): sub for key, sub in workflow.subprocesses.items()}}
    tasks = {key: wf.tasks for key, wf in workflows.items()}
    _registry._encoder_mode = True
    _dumping.active = True
    try:
        try:
            for wf in workflows.values():
                wf.tasks = {}
            data = _serializer.to_dict(workflow)
        finally:
            for key, wf in workflows.items():
                wf.tasks = tasks[key]  # tasks find their parents through it
        for key in _SPEC_KEYS:
            data.pop(key, None)
        data[_serializer.VERSION_KEY] = _serializer.VERSION
        return _workflow_json(data, tasks[None], tasks)
    finally:
        _registry._encoder_mode = False
        _dumping.active = False


def _workflow_json(data: Mapping[str, Any], own_tasks, tasks_by_subprocess) -> str:
    parts = []
    for key, value in data.items():
        if key == "tasks":
            text = _tasks_json(own_tasks)
        elif key == "subprocesses":
            text = _mapping_json(
                {
                    sub: _workflow_json(sub_data, tasks_by_subprocess[sub], {})
                    for sub, sub_data in value.items()
                }
            )
        else:
            text = _encode(value)
        parts.append(f"{_encode(key)}:{text}")
    return "{" + ",".join(parts) + "}"


def _mapping_json(texts: Mapping[str, str]) -> str:
    return "{" + ",".join(f"{_encode(key)}:{text}" for key, text in texts.items()) + "}"


def _tasks_json(tasks: Mapping[Any, Task]) -> str:
    return "{" + ",".join(_task_entry(task) for task in tasks.values()) + "}"


def _task_entry(task: Task) -> str:
    """``"<id>":{...}`` for one task (a UUID's text needs no escaping)."""
    key = _memo_key(task)
    if key is None:
        return f'"{task.id}":{_encode(_task_dict(task))}'
    memo = task.__dict__.get("_engine_memo")
    if memo is None or memo.key != key:
        memo = _Memo(key, f'"{task.id}":{_encode(_task_dict(task))}')
        task._engine_memo = memo
    return memo.json


_TASK_TYPENAME = _registry.typenames[Task]


def _task_dict(task: Task) -> dict[str, Any]:
    """SpiffWorkflow's dict of a task; a task with no data of its own built here directly.

    Every task a started path predicts (half of those written) has neither data nor
    internal data: its delta is just the names of its parent's keys, which the library
    works out through its registry and a deep comparison at ~3x the cost.
    """
    parent = task.parent
    if parent is None or task.data or task.internal_data:
        return _convert_task(task)
    return {
        "id": str(task.id),
        "parent": str(parent.id),
        "children": [str(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": {},
        "data": {},
        "delta": {"updates": {}, "deletions": list(parent.data)},
        "typename": _TASK_TYPENAME,
    }


def plain_dump(workflow: BpmnWorkflow) -> str:
    """SpiffWorkflow's own serialization minus the specs: the reference dump_state must equal."""
    data = json.loads(_serializer.serialize_json(workflow))
    for key in _SPEC_KEYS:
        data.pop(key, None)
    return json.dumps(data)


def load_state(state: str, spec, subprocess_specs: Mapping[str, Any], script_engine) -> BpmnWorkflow:
    """Restore an instance around spec objects we already hold.

    The registry passes any non-dict value through unchanged, so putting the cached
    spec objects where the spec dicts were skips re-building the spec (~0.6 ms).
    """
    data = json.loads(state, cls=_serializer.json_decoder_cls)
    _serializer.migrate(data)
    data["spec"] = spec
    data["subprocess_specs"] = dict(subprocess_specs)
    workflow = _serializer.from_dict(data)
    workflow.script_engine = script_engine
    _reconnect_triggered_event_subprocesses(workflow)
    return workflow


def _reconnect_triggered_event_subprocesses(workflow: BpmnWorkflow) -> None:
    """Give every event subprocess this instance has triggered its link to the process start.

    SpiffWorkflow links a message- or signal-started event subprocess to its process's start
    only when it is first triggered, and on the spec object (``BpmnStartTask.trigger_wf``). A
    spec that never saw that trigger (a restart, the target version of a migration) leaves a
    triggered one without input, and it fails when it ends ("No input task connected"). The
    link is what ``trigger_wf`` would have made, so making it here changes nothing else.
    """
    for wf in (workflow, *workflow.subprocesses.values()):
        start = getattr(wf.spec, "start", None)
        triggers = getattr(start, "trigger_specs", None)
        if not triggers:
            continue
        present = {task.task_spec.name for task in wf.tasks.values()}
        for name in triggers:
            spec = wf.spec.task_specs.get(name)
            if name in present and spec is not None and start not in spec.inputs:
                start.connect(spec)
                spec.connect(wf.spec.end)


def spec_to_dict(spec) -> dict[str, Any]:
    return _serializer.to_dict(spec)


def spec_from_dict(data: Mapping[str, Any]):
    return _serializer.from_dict(dict(data))
