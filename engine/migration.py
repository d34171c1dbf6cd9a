"""Moving running instances from one deployed version to another, and back.

Instances stay on the version they started on; an admin moves them explicitly:

- ``dry_run(engine, a, b)`` reports, per running instance on version ``a``, whether it
  can move to ``b`` and, if not, which element blocks it. Nothing is written.
- ``apply(engine, a, b)`` moves the movable ones, one transaction per instance, each
  with the optimistic version check every command uses: an instance that another
  command changed meanwhile is skipped and reported, never overwritten.
- ``revert(engine, a, b)`` puts instances moved from ``a`` to ``b`` back on ``a`` with
  the state they had, as long as nothing happened to them since the move.

How an instance moves (SpiffWorkflow's ``bpmn.util.diff``):

- It is **blocked** when an element it already ran or is running (a COMPLETED or
  STARTED task) changed or was removed in the new version: its history would no longer
  match its diagram. The report names the element.
- Otherwise ``migrate_workflow`` puts every task on its new spec with
  ``reset_mask=TaskState.READY``: open (READY) tasks are re-opened on the new
  definition (pre-scripts run again, their form, lane and priority may change), while
  WAITING tasks are kept as they are, so **waiting timers keep their due instant**.
  Re-opening runs the task's pre-script again, as opening any task does; no other
  diagram code runs during a migration.
  The library's default also resets WAITING tasks, which would restart a 2-hour
  deadline from the migration time. A waiting timer whose definition changed keeps
  its instant; the report notes it and the new definition applies when reached again.
- Predicted (not yet reached) tasks whose element was removed are re-predicted from
  their parent on the new spec; anything else left pointing at a removed element
  blocks the move.
- Subprocesses (call activities, embedded subprocesses) are diffed and migrated each
  against its own new spec, as the library intends; a subprocess whose process no
  longer exists, or whose started/completed elements changed, blocks the move.
- A move that would leave an automatic step READY (an open user task that became a
  script task, say) is refused: it would need engine steps to run it.
- Every planned move is serialized and loaded back on the new version before it is
  reported movable, so a dry run does not promise what apply cannot do.

Each move writes an audit event (``command="migrate"``) and an ``instance_migrations``
row with the previous state, next timer and open human-task rows; a revert restores
exactly those (``command="migrate_revert"``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, filter_tasks, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, insert, select, update

from engine import audit
from engine.deployments import Runtime
from engine.errors import NotFound
from engine.handlers import Projection
from engine.human_tasks import _new_task as human_task_row
from engine.human_tasks import open_task_ids, sync_human_tasks
from engine.models import Deployment, Instance, InstanceMigration
from engine.spiff import (
    all_workflows,
    clock_in_use,
    current_data,
    timer_due,
    transaction_in_use,
    waiting_timers,
)
from engine.spiff_state import _serializer, dump_state, load_state
from engine.store import InstanceRow, StaleInstance, Store

log = logging.getLogger(__name__)

RESET_MASK = TaskState.READY
"""What ``migrate_workflow`` re-opens on the new spec: READY only; WAITING timers keep their instant."""
UNSAFE = TaskState.COMPLETED | TaskState.STARTED
_PREDICTED = TaskState.PREDICTED_MASK


@dataclass(frozen=True)
class Blocker:
    process_id: str
    element_id: str
    state: str
    reason: str

    def __str__(self) -> str:
        return f"{self.process_id}/{self.element_id} ({self.state}): {self.reason}"


@dataclass(frozen=True)
class InstanceReport:
    instance_id: int
    business_key: str | None
    outcome: str
    """dry run: movable | blocked; apply: migrated | blocked | skipped; revert: reverted | refused."""
    reason: str | None = None
    blockers: tuple[Blocker, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def movable(self) -> bool:
        return self.outcome in ("movable", "migrated", "reverted")

    def lines(self) -> list[str]:
        key = f" [{self.business_key}]" if self.business_key else ""
        head = f"instance {self.instance_id}{key}: {self.outcome}"
        if self.reason:
            head += f": {self.reason}"
        return [
            head,
            *(f"  blocked by {blocker}" for blocker in self.blockers),
            *(f"  note: {n}" for n in self.notes),
        ]


@dataclass
class MigrationReport:
    mode: str  # "dry-run" | "apply" | "revert"
    from_version: int
    to_version: int
    instances: list[InstanceReport] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.instances:
            counts[report.outcome] = counts.get(report.outcome, 0) + 1
        return counts

    def lines(self) -> list[str]:
        lines = [line for report in self.instances for line in report.lines()]
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts().items()))
        lines.append(
            f"{self.mode} v{self.from_version} -> v{self.to_version}: {summary or 'no running instances'}"
        )
        return lines


@dataclass
class _Plan:
    """One instance's move, worked out in memory."""

    workflow: Any
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def blocked(self) -> bool:
        return bool(self.blockers or self.reason)


# --------------------------------------------------------------------------- entry points


def dry_run(engine, from_version: int, to_version: int, *, batch: int = 200) -> MigrationReport:
    """What ``apply`` would do, per running instance on ``from_version``; writes nothing."""
    source, target = _versions(engine, from_version, to_version)
    report = MigrationReport("dry-run", from_version, to_version)
    db = engine.reader.kw["bind"]
    for ids in _running_ids(engine, source.deployment_id, batch):
        with db.connect() as connection, connection.begin():
            store = Store(connection)
            for instance_id in ids:
                instance = store.instance(instance_id)
                if (
                    instance is None
                    or instance.status != "running"
                    or instance.deployment_id != source.deployment_id
                ):
                    continue
                plan = _plan(engine, store, instance, source, target)
                report.instances.append(_report(instance, plan, "blocked" if plan.blocked else "movable"))
    return report


def apply(engine, from_version: int, to_version: int, *, actor: str, batch: int = 200) -> MigrationReport:
    """Move every movable running instance; one transaction each, lost races skipped."""
    source, target = _versions(engine, from_version, to_version)
    report = MigrationReport("apply", from_version, to_version)
    for ids in _running_ids(engine, source.deployment_id, batch):
        for instance_id in ids:
            try:
                outcome = _apply_one(engine, instance_id, source, target, actor)
            except Exception as error:  # noqa: BLE001 - one failing instance must not stop the others
                log.exception("migrating instance %s failed", instance_id)
                outcome = InstanceReport(instance_id, None, "skipped", f"failed, nothing changed: {error}")
            if outcome is not None:
                report.instances.append(outcome)
    return report


def revert(engine, from_version: int, to_version: int, *, actor: str) -> MigrationReport:
    """Put instances moved ``from_version`` -> ``to_version`` back, unless they changed since."""
    source, target = _versions(engine, from_version, to_version)
    report = MigrationReport("revert", from_version, to_version)
    with engine.reader() as session:
        records = session.scalars(
            select(InstanceMigration.id)
            .where(
                InstanceMigration.from_deployment_id == source.deployment_id,
                InstanceMigration.to_deployment_id == target.deployment_id,
                InstanceMigration.reverted_at.is_(None),
            )
            .order_by(InstanceMigration.instance_id, InstanceMigration.id.desc())
        ).all()
    for record_id in records:
        outcome = _revert_one(engine, record_id, source, target, actor)
        if outcome is not None:
            report.instances.append(outcome)
    return report


# --------------------------------------------------------------------------- one instance


def _apply_one(engine, instance_id: int, source: Runtime, target: Runtime, actor: str):
    now = engine.clock.now()
    with _writer(engine).connect() as connection, connection.begin():
        store = Store(connection)
        instance = store.instance(instance_id)
        if instance is None or instance.status != "running" or instance.deployment_id != source.deployment_id:
            return None  # finished or moved meanwhile: nothing to report
        previous_state = store.state(instance.id)
        previous_tasks = store.open_task_rows(instance.id)
        plan = _plan(engine, store, instance, source, target, state=previous_state)
        if plan.blocked:
            return _report(instance, plan, "blocked")
        workflow = plan.workflow
        old = source.load_workflow(previous_state, instance.process_id)
        before = open_task_ids(old)
        previous_next = _next_timer(old)
        next_timer_at = _next_timer(workflow)
        try:
            moved = store.move_instance(
                instance,
                deployment_id=target.deployment_id,
                state=dump_state(workflow),
                next_timer_at=next_timer_at,
                now=now,
            )
        except StaleInstance:
            connection.rollback()
            return _report(instance, plan, "skipped", "another command changed it meanwhile; run again")
        with clock_in_use(engine.clock), transaction_in_use(connection, instance.id):
            changes = sync_human_tasks(
                store, instance.id, workflow, target, before=before, now=now, actor=actor
            )
            opened = {task.id for task in changes.opened}
            for task in _ready_human(workflow):
                if str(task.id) not in opened:
                    store.update_open_task(human_task_row(task, target))
            _project(engine, store, moved, workflow, target, actor, now)
        connection.execute(
            insert(InstanceMigration).values(
                instance_id=instance.id,
                from_deployment_id=source.deployment_id,
                to_deployment_id=target.deployment_id,
                previous_state=previous_state,
                previous_next_timer_at=previous_next,
                previous_tasks=json.dumps(previous_tasks),
                instance_version=moved.version,
                migrated_at=now,
                migrated_by=actor,
            )
        )
        audit.append(
            store,
            at=now,
            actor=actor,
            command="migrate",
            instance_id=instance.id,
            detail={
                "from_version": source.version,
                "to_version": target.version,
                "notes": plan.notes,
                "next_timer_at": next_timer_at.isoformat() if next_timer_at else None,
                **changes.as_detail(),
            },
        )
    if next_timer_at is not None:
        engine.announce_timer(next_timer_at)
    return _report(instance, plan, "migrated")


def _revert_one(engine, record_id: int, source: Runtime, target: Runtime, actor: str):
    now = engine.clock.now()
    with _writer(engine).connect() as connection, connection.begin():
        store = Store(connection)
        record = _record(connection, record_id)
        if record is None or record["reverted_at"] is not None:
            return None
        instance = store.instance(record["instance_id"])
        if instance is None:
            return None

        def refused(reason: str) -> InstanceReport:
            return InstanceReport(instance.id, instance.business_key, "refused", reason)

        if instance.deployment_id != target.deployment_id:
            return refused("it was moved to another version since; revert that move first")
        if instance.status != "running":
            return refused(f"it is {instance.status} now")
        if instance.version != record["instance_version"]:
            return refused(
                "it changed after the migration (a task was completed or claimed, or a timer fired)"
            )
        try:
            moved = store.move_instance(
                instance,
                deployment_id=source.deployment_id,
                state=record["previous_state"],
                next_timer_at=record["previous_next_timer_at"],
                now=now,
            )
        except StaleInstance:
            connection.rollback()
            return refused("another command changed it meanwhile")
        store.restore_open_tasks(instance.id, json.loads(record["previous_tasks"]))
        workflow = source.load_workflow(record["previous_state"], instance.process_id)
        with clock_in_use(engine.clock), transaction_in_use(connection, instance.id):
            _project(engine, store, moved, workflow, source, actor, now)
        connection.execute(
            update(InstanceMigration)
            .where(InstanceMigration.id == record_id)
            .values(reverted_at=now, reverted_by=actor)
        )
        audit.append(
            store,
            at=now,
            actor=actor,
            command="migrate_revert",
            instance_id=instance.id,
            detail={"from_version": target.version, "to_version": source.version, "migration": record_id},
        )
    return InstanceReport(instance.id, instance.business_key, "reverted")


def _plan(engine, store: Store, instance: InstanceRow, source: Runtime, target: Runtime, state=None) -> _Plan:
    """Load the instance and migrate it in memory; blocked plans say why (a failure blocks too)."""
    try:
        return _migrate_in_memory(engine, store, instance, source, target, state)
    except Exception as error:  # noqa: BLE001 - a pre-script or the library failing: do not move it
        log.warning("planning the migration of instance %s failed: %s", instance.id, error)
        return _Plan(None, reason=f"cannot be migrated: {error}")


def _migrate_in_memory(engine, store, instance, source, target, state) -> _Plan:
    process_id = instance.process_id
    if process_id not in target.specs:
        return _Plan(None, reason=f"process {process_id!r} does not exist in version {target.version}")
    workflow = source.load_workflow(state if state is not None else store.state(instance.id), process_id)
    plan = _Plan(workflow)
    new_spec, new_dependencies = target.spec(process_id), target.subprocess_specs(process_id)
    top, sub_diffs = diff_workflow(_serializer.registry, workflow, new_spec, new_dependencies)
    _collect_blockers(plan, top, process_id, target.version)
    for sub_id, sub_diff in sub_diffs.items():
        sub = workflow.subprocesses[sub_id]
        if sub_diff is None:
            caller = workflow.get_task_from_id(sub_id)
            plan.blockers.append(
                Blocker(
                    caller.workflow.spec.name,
                    caller.task_spec.bpmn_id or caller.task_spec.name,
                    "STARTED",
                    f"its process {sub.spec.name!r} does not exist in version {target.version}",
                )
            )
        else:
            _collect_blockers(plan, sub_diff, sub.spec.name, target.version)
    if plan.blocked:
        return plan
    diffs = [top, *(sub_diff for sub_diff in sub_diffs.values() if sub_diff is not None)]
    changed_waiting = [
        (task, due)
        for diff in diffs
        for task in diff.changed
        if task.state == TaskState.WAITING and (due := timer_due(task)) is not None
    ]
    with clock_in_use(engine.clock), transaction_in_use(store.connection, instance.id):
        migrate_workflow(top, workflow, new_spec, reset_mask=RESET_MASK)
        for sub_id, sub_diff in sub_diffs.items():
            sub = workflow.subprocesses[sub_id]
            migrate_workflow(sub_diff, sub, new_dependencies[sub.spec.name], reset_mask=RESET_MASK)
        workflow.subprocess_specs = dict(new_dependencies)
        _repredict_removed(workflow)
    for task, due in changed_waiting:
        plan.notes.append(
            f"timer {task.task_spec.bpmn_id} changed in version {target.version}; it keeps its due "
            f"instant {due.isoformat()} (the new definition applies when it is reached again)"
        )
    _check_result(plan, workflow, target)
    return plan


def _collect_blockers(plan: _Plan, diff, process_id: str, version: int) -> None:
    removed = set(diff.removed)
    for task in filter_tasks(diff.changed + diff.removed, state=UNSAFE):
        spec = task.task_spec
        what = "removed" if task in removed else "changed"
        plan.blockers.append(
            Blocker(
                process_id,
                spec.bpmn_id or spec.name,
                TaskState.get_name(task.state),
                f"{'ran' if task.state == TaskState.COMPLETED else 'running'}, {what} in version {version}",
            )
        )


def _repredict_removed(workflow) -> None:
    """Predicted tasks left on a removed element: predict their parent's branch again on the new spec."""
    for _ in range(10):  # each pass fixes one level; diagrams are not that deep in removed elements
        orphans = [
            task
            for wf in all_workflows(workflow)
            for task in list(wf.tasks.values())
            if task.state & _PREDICTED and wf.spec.task_specs.get(task.task_spec.name) is not task.task_spec
        ]
        parents = {task.parent for task in orphans if task.parent is not None and task.parent not in orphans}
        if not parents:
            return
        for parent in parents:
            state = min((child.state for child in parent.children if child.state & _PREDICTED), default=None)
            parent._sync_children(parent.task_spec.outputs, state or TaskState.MAYBE)
            for child in parent.children:
                if child.state & _PREDICTED:
                    child.task_spec._predict(child, mask=_PREDICTED)


def _check_result(plan: _Plan, workflow, target: Runtime) -> None:
    """Refuse what the migrated workflow cannot do: stale specs, automatic steps, a failed reload."""
    for wf in all_workflows(workflow):
        for task in wf.tasks.values():
            spec = task.task_spec
            if wf.spec.task_specs.get(spec.name) is not spec:
                plan.blockers.append(
                    Blocker(
                        wf.spec.name,
                        spec.bpmn_id or spec.name,
                        TaskState.get_name(task.state),
                        f"removed in version {target.version} but the instance still waits there",
                    )
                )
            elif task.state == TaskState.READY and not spec.manual:
                plan.blockers.append(
                    Blocker(
                        wf.spec.name,
                        spec.bpmn_id or spec.name,
                        "READY",
                        f"would become an automatic step in version {target.version}; "
                        "a migration runs no engine steps",
                    )
                )
    if plan.blocked:
        return
    try:
        load_state(
            dump_state(workflow),
            workflow.spec,
            workflow.subprocess_specs,
            target.script_engine,
        )
    except Exception as error:  # noqa: BLE001 - any failure means: do not move it
        plan.reason = f"the migrated state does not load on version {target.version}: {error}"


# --------------------------------------------------------------------------- helpers


def _versions(engine, from_version: int, to_version: int) -> tuple[Runtime, Runtime]:
    if from_version == to_version:
        raise NotFound(f"--from and --to are the same version ({from_version})")
    with engine.reader() as session:
        found = {
            deployment.version: deployment.id
            for deployment in session.scalars(
                select(Deployment).where(Deployment.version.in_((from_version, to_version)))
            )
        }
    for version in (from_version, to_version):
        if version not in found:
            raise NotFound(f"no version {version}")
    return engine.runtime(found[from_version]), engine.runtime(found[to_version])


def _running_ids(engine, deployment_id: int, batch: int) -> Iterator[list[int]]:
    """Running instances of a version in id order, a page at a time (keyset pagination)."""
    after = 0
    while True:
        with engine.reader() as session:
            ids = list(
                session.scalars(
                    select(Instance.id)
                    .where(
                        Instance.deployment_id == deployment_id,
                        Instance.status == "running",
                        Instance.id > after,
                    )
                    .order_by(Instance.id)
                    .limit(batch)
                )
            )
        if not ids:
            return
        yield ids
        after = ids[-1]


def _record(connection: Connection, record_id: int) -> dict[str, Any] | None:
    table = InstanceMigration.__table__
    row = connection.execute(select(table).where(table.c.id == record_id)).mappings().first()
    return dict(row) if row is not None else None


def _writer(engine):
    return engine.writer.kw["bind"]


def _ready_human(workflow) -> list:
    return [
        task
        for wf in all_workflows(workflow)
        for task in wf.tasks.values()
        if task.state == TaskState.READY and task.task_spec.manual
    ]


def _next_timer(workflow) -> datetime | None:
    dues = [due for _, due in waiting_timers(workflow)]
    return min(dues) if dues and not workflow.completed else None


def _project(engine, store: Store, instance: InstanceRow, workflow, runtime: Runtime, actor, now) -> None:
    """Projections see every command, migrations included (the data itself did not change)."""
    if not engine.handlers.projections:
        return
    projection = Projection(
        connection=store.connection,
        instance_id=instance.id,
        business_key=instance.business_key,
        status=instance.status,
        command="migrate",
        actor=actor,
        now=now,
        data=current_data(workflow),
        config=runtime.config,
    )
    for hook in engine.handlers.projections:
        hook(projection)


def _report(instance: InstanceRow, plan: _Plan, outcome: str, reason: str | None = None) -> InstanceReport:
    return InstanceReport(
        instance.id,
        instance.business_key,
        outcome,
        reason or plan.reason,
        tuple(plan.blockers),
        tuple(plan.notes),
    )
