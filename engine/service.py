"""The engine's commands: deploy, start, complete, claim, unclaim, message, fire timers.

Every command is one transaction: load the instance, apply, run engine steps and
handlers, save the state and every derived row, append the audit event, commit.
A stale write (another command committed first) is retried from a fresh load, so
a command either applies to the newest state or fails with a clear Conflict.
Parts: ``engine.deploy_commands``, ``engine.timer_firing``, ``engine.engine_reads``, ``engine.command_types``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from engine import audit, outbox
from engine.audit_key import AuditKey, keyed_sessions
from engine.clock import Clock, SystemClock
from engine.command_checks import check_group, check_may_act, ensure_running, refuse_reserved_keys
from engine.command_types import SYSTEM_ACTOR as SYSTEM_ACTOR
from engine.command_types import (
    UNCHANGED,
    AlreadyHeld,
    Command,
    CommandResult,
    FirstTask,
    Outcome,
    Record,
    Saved,
    result_of,
)
from engine.deploy_commands import DeployCommands
from engine.deployments import Runtime, RuntimeCache
from engine.engine_reads import EngineReads
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound, ProcessError
from engine.handlers import HandlerRegistry, Projection, TaskInput
from engine.human_tasks import VALIDATOR_PROPERTY, open_task_ids, sync_human_tasks
from engine.outbox import Outbox
from engine.running_clocks import read_clocks
from engine.spiff import (
    clock_in_use,
    current_data,
    describe_error,
    find_task,
    new_workflow,
    task_properties,
    transaction_in_use,
    waiting_timers,
)
from engine.spiff_state import dump_state
from engine.store import InstanceRow, StaleInstance, Store, TaskRow
from engine.timer_firing import TimerFiring
from engine.workflow_cache import WorkflowCache

log = logging.getLogger(__name__)

# A process names its instance (e.g. a complaint number) by setting this data variable;
# the first value set is kept and is what inboxes show and search by.
BUSINESS_KEY = "business_key"


class ProcessEngine(DeployCommands, TimerFiring, EngineReads):
    def __init__(
        self,
        writer: sessionmaker,
        reader: sessionmaker,
        handlers: HandlerRegistry,
        *,
        clock: Clock | None = None,
        node: str = "node",
        retries: int = 3,
        audit_key: AuditKey | None = None,
        timer_workers: int = 4,
    ) -> None:
        # The audit chain's key rides on every connection of this engine (engine.audit_key),
        # so all who append to the chain through it use it; without one, appends refuse.
        self.audit_key = audit_key
        self.writer = keyed_sessions(writer, audit_key)
        self.reader = keyed_sessions(reader, audit_key)
        self.handlers = handlers
        self.clock = clock or SystemClock()
        self.node = node
        self._retries = retries
        self._timer_workers = max(1, timer_workers)
        self._runtimes = RuntimeCache(handlers)
        self._workflows = WorkflowCache()
        self._timer_listeners: list[Callable[[datetime], None]] = []
        self._anchored_at = self.clock.now()  # this node's last anchor; the first comes a period later
        # Commands run on plain connections (see engine.store); sessions serve reads and deploys.
        self._db = self.writer.kw["bind"]
        # Follow-ups commands write in their transaction, delivered after the commit (engine.outbox).
        self.outbox = Outbox(self, handlers.deliveries)

    # ------------------------------------------------------------------ instances

    def start(
        self,
        *,
        actor: str,
        data: Mapping[str, Any] | None = None,
        process_id: str | None = None,
        business_key: str | None = None,
        version: int | None = None,
        first_task: FirstTask | None = None,
        record: Record | None = None,
        prepare: Callable[[Connection], Mapping[str, Any]] | None = None,
    ) -> CommandResult:
        """Start an instance on the given version (default: the newest) and run it to its first wait.

        ``first_task``: then complete that open human task with its data, in the same
        transaction, so a refused or failing completion leaves no started instance
        behind. ``record`` runs last, on the same transaction (see ``Outcome``).
        ``prepare(connection)`` runs first on it; what it returns joins the start data
        (e.g. a number reserved there, so a start that fails takes none), but for
        ``business_key``, which names the instance instead.
        """
        data = dict(data or {})
        refuse_reserved_keys(data, self._expression_names())
        now = self.clock.now()
        with outbox.collecting() as written, self._db.connect() as connection, connection.begin():
            store = Store(connection)
            deployment = store.deployment(version)
            if deployment is None:
                raise NotFound("nothing is deployed yet" if version is None else f"no version {version}")
            runtime = self.runtime(deployment.id)
            process_id = process_id or deployment.main_process
            runtime.spec(process_id)  # an unknown process is refused before anything is written
            if prepare is not None:
                prepared = dict(prepare(connection))
                business_key = business_key or prepared.pop(BUSINESS_KEY, None)
                refuse_reserved_keys(prepared, self._expression_names())
                data.update(prepared)
            instance = store.insert_instance(
                deployment_id=deployment.id,
                process_id=process_id,
                business_key=business_key,
                now=now,
                actor=actor,
            )
            with self._running_diagram(connection, instance.id):
                workflow = new_workflow(
                    runtime.spec(process_id), runtime.subprocess_specs(process_id), runtime.script_engine
                )
                workflow.task_tree.data.update(data)
                for task in workflow.get_tasks(state=TaskState.READY):
                    task.data.update(data)
                workflow.do_engine_steps()
            saved = self._save(store, instance, workflow, runtime, {}, now=now, actor=actor, command="start")
            audit.append(
                store,
                at=now,
                actor=actor,
                command="start",
                instance_id=instance.id,
                detail={"version": deployment.version, "process": process_id, "data": data, **saved.changes},
            )
            if first_task is not None:
                saved = self._complete_first(store, saved.instance, workflow, runtime, first_task, actor, now)
            if record is not None:
                record(Outcome(connection, result_of(saved), workflow))
        return self._after_commit(saved, workflow, written)

    def _complete_first(self, store, instance, workflow, runtime, first: FirstTask, actor, now) -> Saved:
        before = open_task_ids(workflow)
        row = next(
            (
                found
                for task_id, element_id in before.items()
                if element_id == first.element_id and (found := store.task(task_id)) is not None
            ),
            None,
        )
        if row is None:
            raise ProcessError(f"the started instance opened no task {first.element_id}")
        groups = None if first.actor_groups is None else frozenset(first.actor_groups)
        command = Command(store, instance, workflow, runtime, now)
        with self._running_diagram(store.connection, instance.id):
            detail = self._complete(command, row, dict(first.data), actor, groups)
        saved = self._save(
            store,
            instance,
            workflow,
            runtime,
            before,
            now=now,
            actor=actor,
            command="complete",
            completed_task_id=row.id,
        )
        audit.append(
            store,
            at=now,
            actor=actor,
            command="complete",
            instance_id=instance.id,
            detail={**detail, **saved.changes},
        )
        return saved

    def complete_task(
        self,
        task_id: str,
        *,
        actor: str,
        data: Mapping[str, Any] | None = None,
        actor_groups: Iterable[str] | None = None,
        record: Record | None = None,
    ) -> CommandResult:
        """Validate the submitted fields, complete the task, run to the next wait.

        ``actor_groups`` given: the actor must be in the task's candidate group, and the
        task must be unclaimed or claimed by the actor. ``record``: see ``Outcome``.
        """
        submitted = dict(data or {})
        groups = None if actor_groups is None else frozenset(actor_groups)

        def apply(command: Command, row: TaskRow) -> dict[str, Any]:
            return self._complete(command, row, submitted, actor, groups)

        return self._task_command(task_id, "complete", actor, apply, completes=True, record=record)

    def _complete(self, command: Command, row: TaskRow, submitted, actor, groups) -> dict[str, Any]:
        check_may_act(row, actor, groups)
        task = find_task(command.workflow, UUID(row.id))
        if task is None or task.state != TaskState.READY:
            raise Conflict(f"task {row.element_id} is no longer open")
        self._validate_input(command.store, command.runtime, row, task, submitted, actor, command.now)
        task.data.update(submitted)
        task.run()
        command.workflow.do_engine_steps()
        return {"task": row.element_id, "task_id": row.id, "data": submitted}

    def claim(self, task_id: str, *, actor: str, actor_groups: Iterable[str] | None = None) -> CommandResult:
        """Claim an open task; claiming one the actor holds already succeeds and changes nothing.

        Decided on the newest state (a lost race is retried from a fresh load), so the
        loser of a race always gets a Conflict naming the winner.
        """
        groups = None if actor_groups is None else frozenset(actor_groups)

        def apply(command: Command, row: TaskRow) -> dict[str, Any]:
            check_group(row, groups)
            if row.assignee == actor:
                raise AlreadyHeld(command.instance)
            if row.assignee is not None:
                raise Conflict(f"task {row.element_id} is already claimed by {row.assignee}")
            command.store.set_assignee(task_id, actor, actor, command.now)
            return {"task": row.element_id, "task_id": task_id}

        try:
            return self._task_command(task_id, "claim", actor, apply, steps=False)
        except AlreadyHeld as held:
            return CommandResult(held.instance.id, held.instance.status, held.instance.version, ())

    def unclaim(self, task_id: str, *, actor: str, may_release_others: bool = False) -> CommandResult:
        def apply(command: Command, row: TaskRow) -> dict[str, Any]:
            if row.assignee is None:
                raise Conflict(f"task {row.element_id} is not claimed")
            if row.assignee != actor and not may_release_others:
                raise Forbidden(f"task {row.element_id} is claimed by {row.assignee}")
            command.store.set_assignee(task_id, None, None, command.now)
            return {"task": row.element_id, "task_id": task_id, "released": row.assignee}

        return self._task_command(task_id, "unclaim", actor, apply, steps=False)

    def assign(self, task_id: str, *, actor: str, assignee: str) -> CommandResult:
        """A supervisor hands a task to someone (the caller checks the supervisor role)."""

        def apply(command: Command, row: TaskRow) -> dict[str, Any]:
            command.store.set_assignee(task_id, assignee, actor, command.now)
            return {"task": row.element_id, "task_id": task_id, "from": row.assignee, "to": assignee}

        return self._task_command(task_id, "assign", actor, apply, steps=False)

    def send_message(
        self, instance_id: int, name: str, *, actor: str, payload: Any = None, record: Record | None = None
    ) -> CommandResult:
        def apply(command: Command) -> dict[str, Any]:
            event = BpmnEvent(MessageEventDefinition(name), payload=payload)
            try:
                command.workflow.send_event(event)
            except WorkflowException:
                raise Conflict(f"instance {instance_id} is not waiting for message {name!r}") from None
            command.workflow.do_engine_steps()
            return {"message": name, "payload": payload}

        return self._instance_command(lambda store: instance_id, "message", actor, apply, record=record)

    # ------------------------------------------------------------------ command plumbing

    def _task_command(self, task_id, command_name, actor, apply, *, steps=True, completes=False, record=None):
        """Run ``apply(command, task_row)`` on an open task's instance."""
        found: dict[str, TaskRow] = {}

        def locate(store: Store) -> int:
            row = store.task(task_id)
            if row is None:
                raise NotFound(f"no task {task_id}")
            found["row"] = row
            return row.instance_id

        def on_instance(command: Command) -> dict[str, Any]:
            # Read again now that the instance row is read: a command that committed between
            # the two reads shows here (its version bump alone would not stop this one).
            row = command.store.task(task_id) or found["row"]
            if row.status != "open":
                by = f" by {row.completed_by}" if row.completed_by else ""
                raise Conflict(f"task {row.element_id} was already {row.status}{by}")
            ensure_running(command.instance)
            return apply(command, row)

        return self._instance_command(
            locate,
            command_name,
            actor,
            on_instance,
            steps=steps,
            completed_task_id=task_id if completes else None,
            check_running=False,
            record=record,
        )

    def _instance_command(
        self,
        locate: Callable[[Store], int],
        command_name: str,
        actor: str,
        apply: Callable[[Command], dict[str, Any]],
        *,
        steps: bool = True,
        completed_task_id: str | None = None,
        check_running: bool = True,
        record: Record | None = None,
    ) -> CommandResult:
        """One command in one transaction; a lost race is retried from a fresh load."""
        for attempt in range(self._retries):
            try:
                return self._instance_command_once(
                    locate,
                    command_name,
                    actor,
                    apply,
                    steps=steps,
                    completed_task_id=completed_task_id,
                    check_running=check_running,
                    record=record,
                )
            except StaleInstance:
                log.info("%s lost a race for its instance; retrying (%d)", command_name, attempt + 1)
        raise Conflict(f"{command_name}: the instance keeps changing; try again")

    def _instance_command_once(
        self, locate, command_name, actor, apply, *, steps, completed_task_id, check_running, record=None
    ) -> CommandResult:
        now = self.clock.now()
        with outbox.collecting() as written, self._db.connect() as connection, connection.begin():
            store = Store(connection)
            instance_id = locate(store)
            instance = store.instance(instance_id)
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            if check_running:
                ensure_running(instance)
            runtime = self.runtime(instance.deployment_id)
            workflow = self._load(store, instance, runtime)
            before = open_task_ids(workflow)
            command = Command(store, instance, workflow, runtime, now)
            with self._running_diagram(connection, instance.id):
                detail = apply(command)
            if steps:
                saved = self._save(
                    store,
                    instance,
                    workflow,
                    runtime,
                    before,
                    now=now,
                    actor=actor,
                    command=command_name,
                    completed_task_id=completed_task_id,
                )
            else:
                saved = Saved(store.touch_instance(instance, now), UNCHANGED, {})
            audit.append(
                store,
                at=now,
                actor=actor,
                command=command_name,
                instance_id=instance.id,
                detail={**detail, **saved.changes},
            )
            if record is not None:
                record(Outcome(connection, result_of(saved), workflow))
        return self._after_commit(saved, workflow, written)

    def _load(self, store: Store, instance: InstanceRow, runtime: Runtime, state: str | None = None):
        """The instance's workflow: cached at its version, else restored (from ``state`` if read already)."""
        workflow = self._workflows.take(instance.id, instance.version)
        if workflow is None:
            workflow = runtime.load_workflow(state or store.state(instance.id), instance.process_id)
        return workflow

    @contextlib.contextmanager
    def _running_diagram(self, connection: Connection, instance_id: int) -> Iterator[None]:
        """Diagram code runs on the engine clock, in the command's transaction; whatever it or
        the library raises becomes a ``ProcessError`` naming the element (engine errors pass)."""
        with clock_in_use(self.clock), transaction_in_use(connection, instance_id):
            try:
                yield
            except EngineError:
                raise
            except Exception as error:
                raise describe_error(error) from error

    def _save(
        self, store, instance, workflow, runtime, before, *, now, actor, command, completed_task_id=None
    ) -> Saved:
        readings = read_clocks(workflow, runtime.clock_catalogue, now)  # stamps armed timers: before dump
        dues = [due for _, due in waiting_timers(workflow)]
        next_timer_at = min(dues) if dues and not workflow.completed else None
        data = current_data(workflow) if self.handlers.projections or instance.business_key is None else {}
        key = data.get(BUSINESS_KEY)
        saved = store.save_instance(
            instance,
            state=dump_state(workflow),
            status="completed" if workflow.completed else "running",
            next_timer_at=next_timer_at,
            now=now,
            business_key=key if isinstance(key, str) and key else None,
        )
        changes = sync_human_tasks(
            store,
            instance.id,
            workflow,
            runtime,
            before=before,
            now=now,
            actor=actor,
            completed_task_id=completed_task_id,
        )
        if self.handlers.projections:
            projection = Projection(
                connection=store.connection,
                instance_id=instance.id,
                business_key=saved.business_key,
                status=saved.status,
                command=command,
                actor=actor,
                now=now,
                data=data,
                config=runtime.config,
                clocks=readings,
                elements=runtime.element_properties,
            )
            for hook in self.handlers.projections:
                hook(projection)
        return Saved(saved, next_timer_at, changes.as_detail())

    def _after_commit(self, saved: Saved, workflow, written: Iterable[int] = ()) -> CommandResult:
        instance = saved.instance
        if instance.status == "running":  # an ended instance takes no more commands
            self._workflows.put(instance.id, instance.version, workflow)
        if saved.next_timer_at not in (None, UNCHANGED):
            self.announce_timer(saved.next_timer_at)
        self.outbox.after_commit(list(written))  # the follow-ups the command wrote (engine.outbox)
        return result_of(saved)

    def _validate_input(self, store, runtime, row, task, submitted, actor, now) -> None:
        refuse_reserved_keys(submitted, self._expression_names())
        if row.form:
            errors = runtime.form_checker(row.form).errors(submitted)
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
                    connection=store.connection,
                )
            )
            if errors:
                raise InvalidInput(errors)
