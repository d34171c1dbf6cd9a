"""The engine's commands: deploy, start, complete, claim, unclaim, message, fire timers.

Every command is one transaction: load the instance, apply, run engine steps and
handlers, save the state and every derived row, append the audit event, commit.
A stale write (another command committed first) is retried from a fresh load, so
a command either applies to the newest state or fails with a clear Conflict.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import jsonschema
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker, undefer
from sqlalchemy.orm.exc import StaleDataError

from engine import audit
from engine.bundle import Bundle
from engine.clock import Clock, SystemClock
from engine.deployments import Runtime, RuntimeCache, latest_deployment, store_deployment
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound
from engine.expressions import ENGINE_FUNCTION_NAMES
from engine.handlers import HandlerRegistry, TaskInput
from engine.human_tasks import VALIDATOR_PROPERTY, open_task_ids, sync_human_tasks
from engine.models import Deployment, HumanTask, Instance, TimerFiring
from engine.spiff import (
    clock_in_use,
    describe_error,
    dump_state,
    find_task,
    load_state,
    new_workflow,
    task_properties,
    waiting_timers,
)
from engine.validation import CompiledBundle, compile_bundle

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
RESERVED_DATA_KEYS = frozenset({"typename"})  # SpiffWorkflow cannot reload such data


@dataclass(frozen=True)
class DeployOutcome:
    version: int
    content_hash: str
    created: bool


@dataclass(frozen=True)
class CommandResult:
    instance_id: int
    status: str
    version: int
    next_timer_at: datetime | None
    opened_task_ids: tuple[str, ...]


class _WorkflowCache:
    """Live workflows of recently used instances, keyed by the row version they match.

    A command takes its workflow out (so no two threads share one) and puts it back
    only after its commit; a failed command simply never returns it.
    """

    def __init__(self, size: int = 2000) -> None:
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: int, version: int) -> Any | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        return item[1] if item is not None and item[0] == version else None

    def put(self, instance_id: int, version: int, workflow: Any) -> None:
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class ProcessEngine:
    def __init__(
        self,
        writer: sessionmaker,
        reader: sessionmaker,
        handlers: HandlerRegistry,
        *,
        clock: Clock | None = None,
        node: str = "node",
        retries: int = 3,
    ) -> None:
        self.writer = writer
        self.reader = reader
        self.handlers = handlers
        self.clock = clock or SystemClock()
        self.node = node
        self._retries = retries
        self._runtimes = RuntimeCache(handlers)
        self._workflows = _WorkflowCache()
        self._timer_listeners: list[Callable[[datetime], None]] = []
        self._is_postgres = writer.kw["bind"].dialect.name == "postgresql"

    # ------------------------------------------------------------------ deployments

    def validate(self, bundle: Bundle) -> CompiledBundle:
        """Raises BundleInvalid listing every problem; stores nothing."""
        return compile_bundle(bundle, self.handlers, self._expression_names())

    def deploy(self, bundle: Bundle, *, actor: str) -> DeployOutcome:
        compiled = self.validate(bundle)
        now = self.clock.now()
        with self.writer() as session, session.begin():
            deployment, created = store_deployment(session, compiled, actor=actor, now=now)
            if created:
                audit.append(
                    session,
                    at=now,
                    actor=actor,
                    command="deploy",
                    instance_id=None,
                    detail={"version": deployment.version, "content_hash": deployment.content_hash},
                )
            return DeployOutcome(deployment.version, deployment.content_hash, created)

    def runtime(self, session: Session, deployment_id: int) -> Runtime:
        return self._runtimes.get(session, deployment_id)

    def _expression_names(self) -> tuple[str, ...]:
        return (*ENGINE_FUNCTION_NAMES, "timedelta", *self.handlers.functions)

    # ------------------------------------------------------------------ instances

    def start(
        self,
        *,
        actor: str,
        data: Mapping[str, Any] | None = None,
        process_id: str | None = None,
        business_key: str | None = None,
        version: int | None = None,
    ) -> CommandResult:
        """Start an instance on the given version (default: the newest) and run it to its first wait."""
        data = dict(data or {})
        _refuse_reserved_keys(data, self._expression_names())
        now = self.clock.now()
        with self.writer() as session, session.begin():
            deployment = self._deployment(session, version)
            runtime = self.runtime(session, deployment.id)
            process_id = process_id or deployment.main_process
            with clock_in_use(self.clock):
                workflow = new_workflow(
                    runtime.spec(process_id),
                    runtime.subprocess_specs(process_id),
                    runtime.script_engine,
                )
                workflow.task_tree.data.update(data)
                for task in workflow.get_tasks(state=TaskState.READY):
                    task.data.update(data)
                _step(workflow)
            instance = Instance(
                deployment_id=deployment.id,
                process_id=process_id,
                business_key=business_key,
                state="",
                created_at=now,
                updated_at=now,
                started_by=actor,
            )
            session.add(instance)
            session.flush()
            changes = self._save(session, instance, workflow, runtime, {}, now=now, actor=actor)
            audit.append(
                session,
                at=now,
                actor=actor,
                command="start",
                instance_id=instance.id,
                detail={
                    "version": deployment.version,
                    "process": process_id,
                    "data": data,
                    **changes,
                },
            )
        return self._after_commit(instance, workflow, changes)

    def complete_task(
        self,
        task_id: str,
        *,
        actor: str,
        data: Mapping[str, Any] | None = None,
        actor_groups: Iterable[str] | None = None,
    ) -> CommandResult:
        """Validate the submitted fields, complete the task, run to the next wait.

        ``actor_groups`` given: the actor must be in the task's candidate group, and the
        task must be unclaimed or claimed by the actor.
        """
        submitted = dict(data or {})
        groups = None if actor_groups is None else frozenset(actor_groups)

        def apply(session, instance, workflow, runtime, row, now):
            _check_may_act(row, actor, groups)
            task = find_task(workflow, UUID(task_id))
            if task is None or task.state != TaskState.READY:
                raise Conflict(f"task {row.element_id} is no longer open")
            self._validate_input(runtime, row, task, submitted, actor, now)
            task.data.update(submitted)
            task.run()
            _step(workflow)
            return {"task": row.element_id, "task_id": task_id, "data": submitted}

        return self._task_command(task_id, "complete", actor, apply, completes=True)

    def claim(self, task_id: str, *, actor: str, actor_groups: Iterable[str] | None = None) -> CommandResult:
        groups = None if actor_groups is None else frozenset(actor_groups)

        def apply(session, instance, workflow, runtime, row, now):
            _check_group(row, groups)
            if row.assignee is not None:
                who = "you" if row.assignee == actor else row.assignee
                raise Conflict(f"task {row.element_id} is already claimed by {who}")
            row.assignee, row.claimed_at, row.claimed_by = actor, now, actor
            return {"task": row.element_id, "task_id": task_id}

        return self._task_command(task_id, "claim", actor, apply, steps=False)

    def unclaim(self, task_id: str, *, actor: str, may_release_others: bool = False) -> CommandResult:
        def apply(session, instance, workflow, runtime, row, now):
            if row.assignee is None:
                raise Conflict(f"task {row.element_id} is not claimed")
            if row.assignee != actor and not may_release_others:
                raise Forbidden(f"task {row.element_id} is claimed by {row.assignee}")
            released = row.assignee
            row.assignee = row.claimed_at = row.claimed_by = None
            return {"task": row.element_id, "task_id": task_id, "released": released}

        return self._task_command(task_id, "unclaim", actor, apply, steps=False)

    def assign(self, task_id: str, *, actor: str, assignee: str) -> CommandResult:
        """A supervisor hands a task to someone (the caller checks the supervisor role)."""

        def apply(session, instance, workflow, runtime, row, now):
            previous = row.assignee
            row.assignee, row.claimed_at, row.claimed_by = assignee, now, actor
            return {"task": row.element_id, "task_id": task_id, "from": previous, "to": assignee}

        return self._task_command(task_id, "assign", actor, apply, steps=False)

    def send_message(self, instance_id: int, name: str, *, actor: str, payload: Any = None) -> CommandResult:
        def apply(session, instance, workflow, runtime, now):
            event = BpmnEvent(MessageEventDefinition(name), payload=payload)
            try:
                workflow.send_event(event)
            except WorkflowException:
                raise Conflict(f"instance {instance_id} is not waiting for message {name!r}") from None
            _step(workflow)
            return {"message": name, "payload": payload}

        return self._instance_command(instance_id, "message", actor, apply)

    # ------------------------------------------------------------------ timers

    def fire_due_timers(self, *, limit: int = 200) -> int:
        """Fire every timer due by now on up to ``limit`` instances; returns how many were stepped.

        Due instances are claimed in the database (``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL; SQLite has one writer at a time), so each timer fires once however
        many nodes run. Each instance fires inside its own savepoint: one failing
        diagram is marked in error without holding back the others.
        """
        now = self.clock.now()
        done: list[tuple[Instance, Any, dict[str, Any]]] = []
        with self.writer() as session, session.begin():
            query = (
                select(Instance)
                .where(Instance.status == "running", Instance.next_timer_at < now)
                .order_by(Instance.next_timer_at)
                .limit(limit)
            )
            if self._is_postgres:
                query = query.with_for_update(skip_locked=True)
            for instance in session.scalars(query).all():
                try:
                    with session.begin_nested():
                        workflow, changes = self._fire_instance(session, instance, now)
                    done.append((instance, workflow, changes))
                except EngineError as error:
                    self._mark_failed(session, instance, now, error)
        for instance, workflow, changes in done:
            self._after_commit(instance, workflow, changes)
        return len(done)

    def fire_all_due(self) -> int:
        """Keep firing until nothing is due by the clock's current instant."""
        total = 0
        while fired := self.fire_due_timers():
            total += fired
        return total

    def next_timer_at(self) -> datetime | None:
        with self.reader() as session:
            return session.scalar(
                select(func.min(Instance.next_timer_at)).where(Instance.status == "running")
            )

    def add_timer_listener(self, listener: Callable[[datetime], None]) -> None:
        """``listener(due)`` is called after every commit that leaves an instance timer due at ``due``."""
        self._timer_listeners.append(listener)

    def _fire_instance(self, session: Session, instance: Instance, now: datetime):
        runtime = self.runtime(session, instance.deployment_id)
        workflow = self._load(instance, runtime)
        before = open_task_ids(workflow)
        with clock_in_use(self.clock):
            due = {str(task.id): (task, when) for task, when in waiting_timers(workflow) if when < now}
            try:
                workflow.refresh_timers()
                _step(workflow)
            except EngineError:
                raise
            except Exception as error:  # a diagram expression failed
                raise describe_error(error) from error
        for task_id, (task, when) in due.items():
            session.add(
                TimerFiring(
                    instance_id=instance.id,
                    element_id=task.task_spec.bpmn_id,
                    task_id=task_id,
                    due_at=when,
                    fired_at=now,
                    lateness_s=(now - when).total_seconds(),
                    fired_by=self.node,
                )
            )
        changes = self._save(session, instance, workflow, runtime, before, now=now, actor=SYSTEM_ACTOR)
        fired = sorted({task.task_spec.bpmn_id for task, _ in due.values()})
        audit.append(
            session,
            at=now,
            actor=SYSTEM_ACTOR,
            command="timer",
            instance_id=instance.id,
            detail={"timers": fired, "node": self.node, **changes},
        )
        return workflow, changes

    def _mark_failed(self, session: Session, instance: Instance, now: datetime, error: Exception) -> None:
        """A timer whose diagram fails must not be retried in a tight loop: park the instance."""
        log.error("instance %s: timer failed: %s", instance.id, error)
        instance.status = "error"
        instance.next_timer_at = None
        instance.updated_at = now
        audit.append(
            session,
            at=now,
            actor=SYSTEM_ACTOR,
            command="timer_failed",
            instance_id=instance.id,
            detail={"error": str(error), "element": getattr(error, "element_id", None)},
        )

    # ------------------------------------------------------------------ command plumbing

    def _task_command(self, task_id, command, actor, apply, *, steps=True, completes=False):
        """Run ``apply`` on an open task's instance; ``steps=False`` commands leave the workflow as is."""

        def on_instance(session, instance, workflow, runtime, now):
            row = session.get(HumanTask, task_id)
            if row is None or row.instance_id != instance.id:
                raise NotFound(f"no task {task_id}")
            if row.status != "open":
                by = f" by {row.completed_by}" if row.completed_by else ""
                raise Conflict(f"task {row.element_id} was already {row.status}{by}")
            _check_running(instance)
            return apply(session, instance, workflow, runtime, row, now)

        def locate(session: Session) -> int:
            row = session.get(HumanTask, task_id)
            if row is None:
                raise NotFound(f"no task {task_id}")
            return row.instance_id

        return self._instance_command(
            locate,
            command,
            actor,
            on_instance,
            steps=steps,
            completed_task_id=task_id if completes else None,
            check_running=False,
        )

    def _instance_command(
        self,
        instance_id: int | Callable[[Session], int],
        command,
        actor,
        apply,
        *,
        steps=True,
        completed_task_id=None,
        check_running=True,
    ):
        for attempt in range(self._retries):
            try:
                return self._instance_command_once(
                    instance_id,
                    command,
                    actor,
                    apply,
                    steps=steps,
                    completed_task_id=completed_task_id,
                    check_running=check_running,
                )
            except StaleDataError:
                log.info("instance %s changed under %s; retrying (%d)", instance_id, command, attempt + 1)
        raise Conflict(f"instance {instance_id} keeps changing; try again")

    def _instance_command_once(
        self, instance_id, command, actor, apply, *, steps, completed_task_id, check_running
    ):
        now = self.clock.now()
        with self.writer() as session, session.begin():
            if callable(instance_id):
                instance_id = instance_id(session)
            instance = session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            if check_running:
                _check_running(instance)
            runtime = self.runtime(session, instance.deployment_id)
            workflow = self._load(instance, runtime)
            before = open_task_ids(workflow)
            with clock_in_use(self.clock):
                try:
                    detail = apply(session, instance, workflow, runtime, now)
                except EngineError:
                    raise
                except Exception as error:
                    raise describe_error(error) from error
            if steps:
                changes = self._save(
                    session,
                    instance,
                    workflow,
                    runtime,
                    before,
                    now=now,
                    actor=actor,
                    completed_task_id=completed_task_id,
                )
            else:
                instance.updated_at = now  # bumps the version: claims conflict like completions
                session.flush()
                changes = {}
            audit.append(
                session,
                at=now,
                actor=actor,
                command=command,
                instance_id=instance.id,
                detail={**detail, **changes},
            )
        return self._after_commit(instance, workflow, changes)

    def _load(self, instance: Instance, runtime: Runtime):
        workflow = self._workflows.take(instance.id, instance.version)
        if workflow is None:
            workflow = load_state(
                instance.state,
                runtime.spec(instance.process_id),
                runtime.subprocess_specs(instance.process_id),
                runtime.script_engine,
            )
        return workflow

    def _save(self, session, instance, workflow, runtime, before, *, now, actor, completed_task_id=None):
        instance.state = dump_state(workflow)
        instance.updated_at = now
        if workflow.completed:
            instance.status, instance.completed_at = "completed", now
        dues = [due for _, due in waiting_timers(workflow)]
        instance.next_timer_at = min(dues) if dues and not workflow.completed else None
        changes = sync_human_tasks(
            session,
            instance.id,
            workflow,
            runtime,
            before=before,
            now=now,
            actor=actor,
            completed_task_id=completed_task_id,
        )
        session.flush()
        return changes.as_detail()

    def _after_commit(self, instance: Instance, workflow, changes: Mapping[str, Any]) -> CommandResult:
        self._workflows.put(instance.id, instance.version, workflow)
        if instance.next_timer_at is not None:
            for listener in self._timer_listeners:
                listener(instance.next_timer_at)
        return CommandResult(
            instance_id=instance.id,
            status=instance.status,
            version=instance.version,
            next_timer_at=instance.next_timer_at,
            opened_task_ids=tuple(changes.get("opened_ids", ())),
        )

    def _validate_input(self, runtime, row, task, submitted, actor, now) -> None:
        _refuse_reserved_keys(submitted, self._expression_names())
        if row.form:
            schema = runtime.forms.get(row.form)
            if schema is not None:
                errors = _schema_errors(schema, submitted)
                if errors:
                    raise InvalidInput(errors)
        validator_name = task_properties(task).get(VALIDATOR_PROPERTY)
        if validator_name:
            validator = self.handlers.validators[validator_name]
            errors = validator(
                TaskInput(
                    element_id=row.element_id,
                    submitted=submitted,
                    task_data=task.data,
                    now=now,
                    config=runtime.config,
                    actor=actor,
                )
            )
            if errors:
                raise InvalidInput(errors)

    def _deployment(self, session: Session, version: int | None) -> Deployment:
        if version is None:
            deployment = latest_deployment(session)
            if deployment is None:
                raise NotFound("nothing is deployed yet")
            return deployment
        deployment = session.scalar(select(Deployment).where(Deployment.version == version))
        if deployment is None:
            raise NotFound(f"no version {version}")
        return deployment

    # ------------------------------------------------------------------ reads

    def task(self, task_id: str) -> HumanTask:
        with self.reader() as session:
            row = session.get(HumanTask, task_id)
            if row is None:
                raise NotFound(f"no task {task_id}")
            return row

    def open_tasks(self, instance_id: int) -> list[HumanTask]:
        with self.reader() as session:
            return list(
                session.scalars(
                    select(HumanTask)
                    .where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
                    .order_by(HumanTask.created_at)
                )
            )

    def instance(self, instance_id: int) -> Instance:
        with self.reader() as session:
            instance = session.get(Instance, instance_id, options=[undefer(Instance.state)])
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            return instance

    def instance_data(self, instance_id: int) -> dict[str, Any]:
        """The instance's process data: the workflow's data once ended, else the newest task data."""
        with self.reader() as session:
            instance = session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            runtime = self.runtime(session, instance.deployment_id)
            workflow = load_state(
                instance.state,
                runtime.spec(instance.process_id),
                runtime.subprocess_specs(instance.process_id),
                runtime.script_engine,
            )
        if workflow.completed:
            return dict(workflow.data)
        return _latest_task_data(workflow)


def _latest_task_data(workflow) -> dict[str, Any]:
    finished = [
        task
        for task in workflow.get_tasks(state=TaskState.COMPLETED | TaskState.READY)
        if task.task_spec.name not in ("Root", "Start")
    ]
    if not finished:
        return dict(workflow.task_tree.data)
    newest = max(finished, key=lambda task: task.last_state_change)
    return dict(newest.data)


def _step(workflow) -> None:
    workflow.do_engine_steps()


def _check_running(instance: Instance) -> None:
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is {instance.status}")


def _check_group(row: HumanTask, groups: frozenset[str] | None) -> None:
    if groups is not None and row.candidate_group not in groups:
        raise Forbidden(f"task {row.element_id} belongs to group {row.candidate_group!r}")


def _check_may_act(row: HumanTask, actor: str, groups: frozenset[str] | None) -> None:
    if groups is None:
        return
    _check_group(row, groups)
    if row.assignee is not None and row.assignee != actor:
        raise Forbidden(f"task {row.element_id} is claimed by {row.assignee}")


def _refuse_reserved_keys(data: Mapping[str, Any], function_names: Iterable[str]) -> None:
    taken = set(function_names)
    errors = {
        key: "this field name is reserved by the engine; rename the field"
        for key in data
        if key in RESERVED_DATA_KEYS or key in taken or not str(key).isidentifier()
    }
    if errors:
        raise InvalidInput(errors)


def _schema_errors(schema: Mapping[str, Any], submitted: Mapping[str, Any]) -> dict[str, str]:
    validator_class = jsonschema.validators.validator_for(schema)
    errors: dict[str, str] = {}
    for error in validator_class(schema).iter_errors(submitted):
        if error.validator == "required":
            field = error.message.split("'")[1] if "'" in error.message else ""
            errors.setdefault(field, "this field is required")
        else:
            field = ".".join(str(part) for part in error.absolute_path) or "_form"
            errors.setdefault(field, error.message)
    return errors
