"""The one place that knows SpiffWorkflow's internals: clock, script engine, serializer, task walks.

Everything above this module speaks in element ids, instants and plain dicts.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import sandbox
from engine.clock import Clock, SystemClock
from engine.errors import ProcessError
from engine.handlers import HandlerRegistry, ServiceCall
from engine.sandbox_limits import SandboxError

# ~50 INFO records per instance cost 20-30 % of the run time (see the notes).
logging.getLogger("spiff").setLevel(logging.WARNING)

# --------------------------------------------------------------------------- clock

_SYSTEM_CLOCK = SystemClock()
_current_clock: ContextVar[Clock | None] = ContextVar("engine_clock", default=None)


class _ClockedDatetime(datetime):
    """SpiffWorkflow reads ``datetime.now`` inside its timer module; this routes it to our clock."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        instant = (_current_clock.get() or _SYSTEM_CLOCK).now()
        return instant.astimezone(tz) if tz is not None else instant.astimezone(UTC)


spiff_timer.datetime = _ClockedDatetime  # type: ignore[misc]


@contextlib.contextmanager
def clock_in_use(clock: Clock) -> Iterator[None]:
    """Run SpiffWorkflow (timers, expressions calling ``now()``) on ``clock`` for this block."""
    token = _current_clock.set(clock)
    try:
        yield
    finally:
        _current_clock.reset(token)


_current_command: ContextVar[tuple[Any, int] | None] = ContextVar("engine_command", default=None)


@contextlib.contextmanager
def transaction_in_use(connection: Any, instance_id: int) -> Iterator[None]:
    """Hand the command's connection and instance to service operations called from the diagram."""
    token = _current_command.set((connection, instance_id))
    try:
        yield
    finally:
        _current_command.reset(token)


def current_now() -> datetime:
    return (_current_clock.get() or _SYSTEM_CLOCK).now()


# --------------------------------------------------------------------------- scripts

# One ScriptEngine serves every thread running a version: per-call state lives here.
_current_element: ContextVar[str | None] = ContextVar("engine_service_element", default=None)
_current_fired_due: ContextVar[datetime | None] = ContextVar("engine_fired_due", default=None)
_current_task: ContextVar[Any] = ContextVar("engine_service_task", default=None)
_current_fired_clock: ContextVar[str | None] = ContextVar("engine_fired_clock", default=None)


class _Environment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, running every expression and script in the sandbox."""

    def __init__(self, globals_: dict[str, Any], call: Callable[..., Any]) -> None:
        super().__init__(globals_)
        self._call = call

    def evaluate(self, expression, context, external_context=None):
        return sandbox.evaluate(expression, {**self.globals, **(external_context or {}), **context})

    def execute(self, script, context, external_context=None):
        self.check_for_overwrite(context, external_context or {})
        try:
            sandbox.execute(script, context, {**self.globals, **(external_context or {})})
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def call_service(self, context, operation_name, operation_params, **_ignored):
        return self._call(context, operation_name, operation_params)


class ScriptEngine(PythonScriptEngine):
    """Diagram code in the sandbox (``engine.sandbox``) and service tasks dispatched to the registry.

    A refusal or an exceeded limit of the sandbox becomes a ``ProcessError`` naming the
    element, so the command fails, nothing is saved and the node carries on.
    """

    def __init__(
        self,
        expression_globals: Mapping[str, Any],
        handlers: HandlerRegistry,
        config: Mapping[str, Any],
    ) -> None:
        self._handlers = handlers
        self._config = config
        self.clock_reader: Callable[[Any, datetime], Any] | None = None
        """(workflow, now) -> the clock outcomes; set by the runtime that knows the catalogue."""
        super().__init__(environment=_Environment(dict(expression_globals), self._dispatch))

    def evaluate(self, task, expression, external_context=None):
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as error:
            refused = _sandbox_error(task, "the expression", expression, error)
            if refused is None:
                raise
            raise refused from error

    def execute(self, task, script, external_context=None):
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as error:
            refused = _sandbox_error(task, "the script", script, error)
            if refused is None:
                raise
            raise refused from error

    def _dispatch(self, task_data, operation_name, operation_params):
        operation = self._handlers.operations.get(operation_name)
        if operation is None:
            raise ValueError(f"no service operation named {operation_name!r} is registered")
        connection, instance_id = _current_command.get() or (None, None)
        call = ServiceCall(
            element_id=_current_element.get() or "",
            params={name: spec["value"] for name, spec in operation_params.items()},
            task_data=task_data,
            now=current_now(),
            config=self._config,
            connection=connection,
            instance_id=instance_id,
            fired_due=_current_fired_due.get(),
            clocks=self._clocks_of(_current_task.get()),
            fired_clock=_current_fired_clock.get(),
        )
        return json.dumps(operation(call), default=_json_default)

    def call_service(self, task, **kwargs):
        # The library's own version has a NameError in its error path; this one names the task.
        token = _current_element.set(task.task_spec.bpmn_id)
        due_token = _current_fired_due.set(fired_timer_due(task))
        task_token = _current_task.set(task)
        clock_token = _current_fired_clock.set(fired_timer_clock(task))
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as error:
            raise ProcessError(f"service task failed: {error}", task.task_spec.bpmn_id) from error
        finally:
            _current_fired_clock.reset(clock_token)
            _current_task.reset(task_token)
            _current_fired_due.reset(due_token)
            _current_element.reset(token)

    def _clocks_of(self, task: Any) -> Callable[[], Any] | None:
        """``ServiceCall.clocks`` for a service task: its instance's clock outcomes, on demand."""
        reader = self.clock_reader
        if reader is None or task is None:
            return None
        return lambda: reader(task.workflow.top_workflow, current_now())


def _sandbox_error(task: Task, what: str, code: str, error: WorkflowTaskException) -> ProcessError | None:
    """A sandbox refusal as a ProcessError naming the element; None for any other failure.

    SpiffWorkflow wraps what the code raised, so the sandbox's error is the wrapper's context.
    """
    cause = error.__context__
    if not isinstance(cause, SandboxError):
        return None
    first_line = code.strip().splitlines()[0] if code.strip() else ""
    shown = first_line if len(first_line) <= 80 else first_line[:77] + "..."
    return ProcessError(f"{what} `{shown}` was stopped by the sandbox: {cause}", task.task_spec.bpmn_id)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"service results must be JSON: {type(value).__name__} is not")


def new_workflow(spec, subprocess_specs: Mapping[str, Any], script_engine) -> BpmnWorkflow:
    return BpmnWorkflow(spec, dict(subprocess_specs), script_engine=script_engine)


# --------------------------------------------------------------------------- task walks


def all_workflows(workflow: BpmnWorkflow) -> list[Any]:
    """The workflow and every subworkflow under it.

    SpiffWorkflow keeps all of them, however deeply nested (a call activity inside a call
    activity), in the top workflow's ``subprocesses``.
    """
    return [workflow, *workflow.subprocesses.values()]


def enclosing_tasks(workflow: Any) -> list[Task]:
    """The subprocess / call activity tasks a (sub)workflow runs inside, outermost first."""
    chain: list[Task] = []
    while workflow.parent_task_id is not None:
        parent = find_task(workflow.top_workflow, workflow.parent_task_id)
        if parent is None:
            break
        chain.append(parent)
        workflow = parent.workflow
    return chain[::-1]


def ready_human_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """READY manual tasks, read straight off the task dicts (the tree iterator costs ~10x)."""
    return [
        task
        for wf in all_workflows(workflow)
        for task in wf.tasks.values()
        if task.state == TaskState.READY and task.task_spec.manual
    ]


def find_task(workflow: BpmnWorkflow, task_id) -> Task | None:
    try:
        return workflow.get_task_from_id(task_id)
    except Exception:  # noqa: BLE001 - the library raises a bare TaskNotFoundException
        return None


def timer_due(task: Task) -> datetime | None:
    """The due instant of a waiting timer event task, or None if it is not a timer."""
    event_definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(event_definition, TimerEventDefinition):
        return None
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):  # a cycle timer: its next occurrence
        value = value.get("next") if value.get("cycles") != 0 else None
    if value is None:
        return None
    due = TimerEventDefinition.get_datetime(value)
    return datetime.combine(due.date(), due.timetz())  # a plain datetime, not the clock shim


def fired_timer_due(task: Task) -> datetime | None:
    """The due instant of the nearest timer event the path to ``task`` came through, if any.

    Walks the parents, and from a subworkflow's start on to the task that holds it, so a
    breach recorded inside an event subprocess finds the timer start that opened it.
    """
    fired = fired_timer(task)
    return timer_due(fired) if fired is not None else None


def fired_timer(task: Task) -> Task | None:
    """The nearest fired timer event task the path to ``task`` came through (see above)."""
    current: Task | None = task.parent
    while current is not None:
        if timer_due(current) is not None and current.state == TaskState.COMPLETED:
            return current
        parent = current.parent
        holder = getattr(current.workflow, "parent_task_id", None)
        if parent is None and holder is not None:
            parent = current.workflow.top_workflow.get_task_from_id(holder)
        current = parent
    return None


def fired_timer_clock(task: Task) -> str | None:
    """The ``clock`` property of the nearest fired timer (see above), when it carries one."""
    fired = fired_timer(task)
    if fired is None:
        return None
    extensions = getattr(fired.task_spec, "extensions", None) or {}
    return (extensions.get("properties") or {}).get("clock") or None


def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[Task, datetime]]:
    """Every waiting timer with its due instant, in the called paths too (nested ones included):
    walked from the task dicts, as the event manager may not list a nested subworkflow's timers."""
    found = []
    for wf in all_workflows(workflow):
        for task in wf.tasks.values():
            if task.state == TaskState.WAITING and isinstance(task.task_spec, CatchingEvent):
                due = timer_due(task)
                if due is not None:
                    found.append((task, due))
    return found


def boundary_timers_of(task: Task) -> list[datetime]:
    """Due instants of the timers that guard a user task: its own boundary timers and those of
    every subprocess or call activity it runs inside (a deadline drawn around a stretch of the
    path, e.g. a handling deadline that keeps running through a review inside the box, is the
    due of each task in it)."""
    return [
        due
        for guarded in (task, *enclosing_tasks(task.workflow))
        for due in _attached_timer_dues(guarded)
    ]


def _attached_timer_dues(task: Task) -> list[datetime]:
    """Due instants of the timers attached to ``task`` (its boundary-event siblings)."""
    parent = task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return []
    return [due for sibling in parent.children if sibling is not task and (due := timer_due(sibling))]


def refresh_timers(workflow: BpmnWorkflow) -> None:
    workflow.refresh_timers()
    workflow.do_engine_steps()


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The instance's data as it stands: see ``engine.handlers.Projection``.

    Walks the subworkflows too (call activities, nested ones included): a called process
    copies its data back only when it completes, so the running path's newest data lives
    in its own tasks.
    """
    if workflow.completed:
        return dict(workflow.data)
    waiting = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    tasks = sorted(
        (task for wf in all_workflows(workflow) for task in wf.tasks.values() if task.state & waiting),
        key=lambda task: task.last_state_change,
    )
    data: dict[str, Any] = {}
    for task in tasks:
        data.update(task.data)
    return data


def task_properties(task: Task) -> dict[str, str]:
    return dict(task.task_spec.extensions.get("properties", {}) or {})


def describe_error(error: Exception) -> ProcessError:
    """Turn a SpiffWorkflow failure into a ProcessError naming the diagram element."""
    if isinstance(error, ProcessError):
        return error
    element_id = None
    task = getattr(error, "task", None)
    if task is not None:
        element_id = task.task_spec.bpmn_id
    elif getattr(error, "task_spec", None) is not None:
        element_id = getattr(error.task_spec, "bpmn_id", None)
    message = str(error)
    if isinstance(error, SpiffWorkflowException | WorkflowException):
        message = getattr(error, "error_line", None) and f"{message}" or message
    return ProcessError(message, element_id)
