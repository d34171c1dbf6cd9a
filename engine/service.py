"""The engine's commands: deploy, start, complete, claim, unclaim, message, fire timers.

Every command is one transaction: load the instance, apply, run engine steps and
handlers, save the state and every derived row, append the audit event, commit.
A stale write (another command committed first) is retried from a fresh load, so
a command either applies to the newest state or fails with a clear Conflict.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import sessionmaker, undefer

from engine import audit, audit_key, outbox
from engine.audit_key import AuditKey
from engine.bundle import Bundle
from engine.clock import Clock, SystemClock
from engine.deployments import Runtime, RuntimeCache, bundle_config, store_deployment
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound, ProcessError
from engine.expressions import ENGINE_FUNCTION_NAMES
from engine.handlers import HandlerRegistry, Projection, TaskInput
from engine.human_tasks import VALIDATOR_PROPERTY, open_task_ids, sync_human_tasks
from engine.models import HumanTask, Instance
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
from engine.store import DeploymentRow, InstanceRow, StaleInstance, Store, TaskRow
from engine.timer_labels import label_bundle
from engine.validation import CompiledBundle, compile_bundle

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
# How often a node anchors the audit's instance chains in the global chain: the most a
# careful deletion (events and head row together) can stay unnoticed without a checkpoint.
ANCHOR_EVERY = timedelta(minutes=1)
# A process names its instance (e.g. a complaint number) by setting this data variable;
# the first value set is kept and is what inboxes show and search by.
BUSINESS_KEY = "business_key"
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
    opened_task_ids: tuple[str, ...]


@dataclass(frozen=True)
class _Command:
    """What a command's ``apply`` works on, inside the command's transaction."""

    store: Store
    instance: InstanceRow
    workflow: Any
    runtime: Runtime
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """What a command's ``record`` hook sees: the result, before the command's transaction commits.

    The hook writes on ``connection`` (e.g. an idempotency key with the answer), so its
    rows and the command's are committed together or not at all.
    """

    connection: Connection
    result: CommandResult
    workflow: Any

    def data(self) -> dict[str, Any]:
        """The instance's data as the command left it."""
        return current_data(self.workflow)


Record = Callable[[Outcome], None]


@dataclass(frozen=True)
class FirstTask:
    """A human task ``start`` completes at once, in the start's transaction (a start form)."""

    element_id: str
    data: Mapping[str, Any]
    actor_groups: Iterable[str] | None = None


class _AlreadyHeld(EngineError):
    """The claimant holds the task already: nothing to write (rolled back, answered as done)."""

    def __init__(self, instance: InstanceRow) -> None:
        super().__init__(f"instance {instance.id}: already held")
        self.instance = instance


_UNCHANGED: Any = object()  # a claim leaves the instance's next timer as it was


@dataclass(frozen=True)
class _Saved:
    instance: InstanceRow
    next_timer_at: datetime | None
    changes: dict[str, Any]


class _WorkflowCache:
    """Live workflows of recently used instances, keyed by the row version they match.

    A command takes its workflow out (so no two threads share one) and puts it back
    only after its commit; a failed command simply never returns it. It is small on
    purpose: it serves the run of commands someone makes on the complaint in front of
    them, and every cached workflow is ~10^4 live objects the garbage collector walks.
    """

    def __init__(self, size: int = 256) -> None:
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


def _keyed(sessions: sessionmaker, key: AuditKey | None) -> sessionmaker:
    if key is None:
        return sessions
    keyed_bind = audit_key.bind(sessions.kw["bind"], key)
    return sessionmaker(**(sessions.kw | {"bind": keyed_bind}), class_=sessions.class_)


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
        audit_key: AuditKey | None = None,
        timer_workers: int = 4,
    ) -> None:
        # The audit chain's key rides on every connection of this engine (engine.audit_key),
        # so all who append to the chain through it use it; without one, appends refuse.
        self.audit_key = audit_key
        self.writer = _keyed(writer, audit_key)
        self.reader = _keyed(reader, audit_key)
        self.handlers = handlers
        self.clock = clock or SystemClock()
        self.node = node
        self._retries = retries
        self._timer_workers = max(1, timer_workers)
        self._runtimes = RuntimeCache(handlers)
        self._workflows = _WorkflowCache()
        self._timer_listeners: list[Callable[[datetime], None]] = []
        self._anchored_at = self.clock.now()  # this node's last anchor; the first comes a period later
        # Commands run on plain connections (see engine.store); sessions serve reads and deploys.
        self._db = self.writer.kw["bind"]
        # Follow-ups commands write in their transaction, delivered after the commit (engine.outbox).
        self.outbox = Outbox(self, handlers.deliveries)

    @property
    def database(self) -> Engine:
        """The database the sessions use: for schema upgrades and closing connections before a fork."""
        return self._db

    def default_deployment(self) -> DeploymentRow | None:
        """The version ``start`` uses when given none (see ``Store.deployment``); None: nothing deployed."""
        with self.reader() as session:
            return Store(session.connection()).deployment(None)

    # ------------------------------------------------------------------ deployments

    def validate(self, bundle: Bundle) -> CompiledBundle:
        """Raises BundleInvalid listing every problem; stores nothing."""
        return compile_bundle(bundle, self.handlers, self._expression_names())

    def label_timers(self, bundle: Bundle) -> Bundle:
        """The bundle with its deadline timers labelled from its config, as far as it can be.

        Validation labels the same way (and reports what cannot be labelled); a draft is kept
        labelled so the owner sees in the modeler what will be deployed.
        """
        labeller = self.handlers.timer_labeller
        if labeller is None:
            return bundle
        try:
            config = bundle_config(bundle)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return bundle
        return label_bundle(bundle, config, labeller)[0]

    def deploy(self, bundle: Bundle, *, actor: str) -> DeployOutcome:
        compiled = self.validate(bundle)
        now = self.clock.now()
        with self.writer() as session, session.begin():
            deployment, created = store_deployment(session, compiled, actor=actor, now=now)
            if created:
                audit.append(
                    Store(session.connection()),
                    at=now,
                    actor=actor,
                    command="deploy",
                    instance_id=None,
                    detail={"version": deployment.version, "content_hash": deployment.content_hash},
                )
            return DeployOutcome(deployment.version, deployment.content_hash, created)

    def runtime(self, deployment_id: int) -> Runtime:
        return self._runtimes.get(self.reader, deployment_id)

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
        _refuse_reserved_keys(data, self._expression_names())
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
                _refuse_reserved_keys(prepared, self._expression_names())
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
                record(Outcome(connection, _result_of(saved), workflow))
        return self._after_commit(saved, workflow, written)

    def _complete_first(self, store, instance, workflow, runtime, first: FirstTask, actor, now) -> _Saved:
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
        command = _Command(store, instance, workflow, runtime, now)
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

        def apply(command: _Command, row: TaskRow) -> dict[str, Any]:
            return self._complete(command, row, submitted, actor, groups)

        return self._task_command(task_id, "complete", actor, apply, completes=True, record=record)

    def _complete(self, command: _Command, row: TaskRow, submitted, actor, groups) -> dict[str, Any]:
        _check_may_act(row, actor, groups)
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

        def apply(command: _Command, row: TaskRow) -> dict[str, Any]:
            _check_group(row, groups)
            if row.assignee == actor:
                raise _AlreadyHeld(command.instance)
            if row.assignee is not None:
                raise Conflict(f"task {row.element_id} is already claimed by {row.assignee}")
            command.store.set_assignee(task_id, actor, actor, command.now)
            return {"task": row.element_id, "task_id": task_id}

        try:
            return self._task_command(task_id, "claim", actor, apply, steps=False)
        except _AlreadyHeld as held:
            return CommandResult(held.instance.id, held.instance.status, held.instance.version, ())

    def unclaim(self, task_id: str, *, actor: str, may_release_others: bool = False) -> CommandResult:
        def apply(command: _Command, row: TaskRow) -> dict[str, Any]:
            if row.assignee is None:
                raise Conflict(f"task {row.element_id} is not claimed")
            if row.assignee != actor and not may_release_others:
                raise Forbidden(f"task {row.element_id} is claimed by {row.assignee}")
            command.store.set_assignee(task_id, None, None, command.now)
            return {"task": row.element_id, "task_id": task_id, "released": row.assignee}

        return self._task_command(task_id, "unclaim", actor, apply, steps=False)

    def assign(self, task_id: str, *, actor: str, assignee: str) -> CommandResult:
        """A supervisor hands a task to someone (the caller checks the supervisor role)."""

        def apply(command: _Command, row: TaskRow) -> dict[str, Any]:
            command.store.set_assignee(task_id, assignee, actor, command.now)
            return {"task": row.element_id, "task_id": task_id, "from": row.assignee, "to": assignee}

        return self._task_command(task_id, "assign", actor, apply, steps=False)

    def send_message(
        self, instance_id: int, name: str, *, actor: str, payload: Any = None, record: Record | None = None
    ) -> CommandResult:
        def apply(command: _Command) -> dict[str, Any]:
            event = BpmnEvent(MessageEventDefinition(name), payload=payload)
            try:
                command.workflow.send_event(event)
            except WorkflowException:
                raise Conflict(f"instance {instance_id} is not waiting for message {name!r}") from None
            command.workflow.do_engine_steps()
            return {"message": name, "payload": payload}

        return self._instance_command(lambda store: instance_id, "message", actor, apply, record=record)

    # ------------------------------------------------------------------ timers

    def fire_due_timers(self, *, limit: int = 200) -> int:
        """Fire the timers due by now on up to ``limit`` instances; returns how many were stepped.

        Each instance fires in its own short transaction (claim, fire, commit), so a burst of
        due timers never holds rows people's commands need for longer than one instance's
        firing, and lateness is taken when that firing commits. Due instances are claimed
        in the database (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer at
        a time), so each timer fires once however many nodes run. A diagram that fails is
        parked (status error) in the same transaction, without holding back the others.

        On PostgreSQL ``timer_workers`` threads fire side by side: a firing mostly waits on
        database round trips, and independent instances no longer share a row.
        """
        lock = threading.Lock()
        counts = {"taken": 0, "fired": 0}

        def work() -> None:
            while True:
                with lock:
                    if counts["taken"] >= limit:
                        return
                    counts["taken"] += 1
                outcome = self._fire_next_due()
                if outcome is None:
                    return
                with lock:
                    counts["fired"] += outcome

        workers = self._timer_workers if self._db.dialect.name == "postgresql" else 1
        if workers == 1:
            work()
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="timers") as pool:
                for future in [pool.submit(work) for _ in range(workers)]:
                    future.result()
        return counts["fired"]

    def _fire_next_due(self) -> int | None:
        """Claim one due instance and fire it in one transaction: 1 fired, 0 parked, None if none is due.

        Nine statements in the common case (no savepoint: a firing that fails is rolled back
        whole and its instance parked in a transaction of its own), because in a busy process
        each round trip also waits for the interpreter lock (issue 16: ~20 ms per firing).
        """
        now = self.clock.now()
        claimed: InstanceRow | None = None
        try:
            with outbox.collecting() as written, self._db.connect() as connection, connection.begin():
                store = Store(connection)
                found = store.claim_due_instance(now)
                if found is None:
                    return None
                claimed, state = found
                saved, workflow, due = self._fire_instance(store, claimed, now, state)
                # The instant of the commit that follows: what the firing's lateness is measured at.
                committed_at = self.clock.now()
                for task_id, (element_id, when) in due.items():
                    store.insert_firing(
                        instance_id=claimed.id,
                        element_id=element_id,
                        task_id=task_id,
                        due_at=when,
                        fired_at=committed_at,
                        fired_by=self.node,
                    )
        except EngineError as error:
            if claimed is None:
                raise
            self._park_apart(claimed, now, error)
            return 0
        self._after_commit(saved, workflow, written)
        return 1

    def _park_apart(self, instance: InstanceRow, now: datetime, error: Exception) -> None:
        """Park an instance whose firing failed (and was rolled back), unless it changed since."""
        with self._db.connect() as connection, connection.begin():
            store = Store(connection)
            if store.claim_unchanged(instance):
                self._park(store, instance, now, error)
            else:
                log.info("instance %s changed after its timer failed; the next pass retries it", instance.id)

    def fire_all_due(self) -> int:
        """Keep firing until nothing is due by the clock's current instant, then anchor if a minute passed.

        The scheduler calls this on every wake-up and sweep, which makes it the node's
        periodic job: anchoring the audit's instance chains rides on it.
        """
        total = 0
        while fired := self.fire_due_timers():
            total += fired
        self.anchor_audit_chains()
        return total

    def anchor_audit_chains(self, *, every: timedelta = ANCHOR_EVERY) -> int:
        """Record grown instance chains in the global audit chain (engine.audit), at most once per ``every``.

        Returns how many chains were anchored. ``every`` zero anchors now.
        """
        now = self.clock.now()
        if now - self._anchored_at < every:
            return 0
        with self._db.connect() as connection, connection.begin():
            anchored = audit.anchor(Store(connection), at=now, actor=SYSTEM_ACTOR)
        self._anchored_at = now
        return anchored

    def next_timer_at(self) -> datetime | None:
        with self.reader() as session:
            return session.scalar(
                select(func.min(Instance.next_timer_at)).where(Instance.status == "running")
            )

    def add_timer_listener(self, listener: Callable[[datetime], None]) -> None:
        """``listener(due)`` is called after every commit that leaves an instance timer due at ``due``."""
        self._timer_listeners.append(listener)

    def announce_timer(self, due: datetime) -> None:
        """Tell the listeners (the scheduler) that a commit left a timer due at ``due``."""
        for listener in self._timer_listeners:
            listener(due)

    def _fire_instance(self, store: Store, instance: InstanceRow, now: datetime, state: str):
        runtime = self.runtime(instance.deployment_id)
        workflow = self._load(store, instance, runtime, state)
        before = open_task_ids(workflow)
        with self._running_diagram(store.connection, instance.id):
            due = {str(task.id): (task, when) for task, when in waiting_timers(workflow) if when < now}
            workflow.refresh_timers()
            for task, when in due.values():
                # The branch a timer starts reads its due instant as `timer_due` (a breach
                # record names the due of the timer that fired, whatever its expression).
                # Set once the timer is ready: becoming ready merges its parent's data, which
                # may carry an older firing's value back from a completed path.
                task.data["timer_due"] = when.isoformat()
            workflow.do_engine_steps()
        saved = self._save(
            store, instance, workflow, runtime, before, now=now, actor=SYSTEM_ACTOR, command="timer"
        )
        audit.append(
            store,
            at=now,
            actor=SYSTEM_ACTOR,
            command="timer",
            instance_id=instance.id,
            detail={
                "timers": sorted({task.task_spec.bpmn_id for task, _ in due.values()}),
                "node": self.node,
                **saved.changes,
            },
        )
        fired = {task_id: (task.task_spec.bpmn_id, when) for task_id, (task, when) in due.items()}
        return saved, workflow, fired

    def _park(self, store: Store, instance: InstanceRow, now: datetime, error: Exception) -> None:
        """A timer whose diagram fails must not be retried in a tight loop: park the instance."""
        log.error("instance %s: timer failed: %s", instance.id, error)
        store.park_instance(instance.id, now)
        audit.append(
            store,
            at=now,
            actor=SYSTEM_ACTOR,
            command="timer_failed",
            instance_id=instance.id,
            detail={"error": str(error), "element": getattr(error, "element_id", None)},
        )

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

        def on_instance(command: _Command) -> dict[str, Any]:
            # Read again now that the instance row is read: a command that committed between
            # the two reads shows here (its version bump alone would not stop this one).
            row = command.store.task(task_id) or found["row"]
            if row.status != "open":
                by = f" by {row.completed_by}" if row.completed_by else ""
                raise Conflict(f"task {row.element_id} was already {row.status}{by}")
            _check_running(command.instance)
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
        apply: Callable[[_Command], dict[str, Any]],
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
                _check_running(instance)
            runtime = self.runtime(instance.deployment_id)
            workflow = self._load(store, instance, runtime)
            before = open_task_ids(workflow)
            command = _Command(store, instance, workflow, runtime, now)
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
                saved = _Saved(store.touch_instance(instance, now), _UNCHANGED, {})
            audit.append(
                store,
                at=now,
                actor=actor,
                command=command_name,
                instance_id=instance.id,
                detail={**detail, **saved.changes},
            )
            if record is not None:
                record(Outcome(connection, _result_of(saved), workflow))
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
    ) -> _Saved:
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
        return _Saved(saved, next_timer_at, changes.as_detail())

    def _after_commit(self, saved: _Saved, workflow, written: Iterable[int] = ()) -> CommandResult:
        instance = saved.instance
        if instance.status == "running":  # an ended instance takes no more commands
            self._workflows.put(instance.id, instance.version, workflow)
        if saved.next_timer_at not in (None, _UNCHANGED):
            self.announce_timer(saved.next_timer_at)
        self.outbox.after_commit(list(written))  # the follow-ups the command wrote (engine.outbox)
        return _result_of(saved)

    def _validate_input(self, store, runtime, row, task, submitted, actor, now) -> None:
        _refuse_reserved_keys(submitted, self._expression_names())
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
        """The instance's current data (see ``engine.handlers.Projection``)."""
        with self.reader() as session:
            instance = session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            workflow = self.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
        return current_data(workflow)


def _result_of(saved: _Saved) -> CommandResult:
    return CommandResult(
        instance_id=saved.instance.id,
        status=saved.instance.status,
        version=saved.instance.version,
        opened_task_ids=tuple(saved.changes.get("opened_ids", ())),
    )


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
