"""Moving running instances from one deployed version to another, and back.

Instances stay on the version they started on; an admin moves them explicitly, with a
plan (``engine.migration_plan``: source element -> target element, proposed by id and
by name, edited by the admin):

- ``dry_run(engine, a, b, mapping=...)`` reports, per running instance on version ``a``,
  whether it can move to ``b`` and, if not, which elements block it (as data: a code,
  the element, the version). Nothing is written.
- ``apply(engine, a, b, ...)`` moves the movable ones, one transaction per instance, each
  with the optimistic version check every command uses: an instance that another
  command changed meanwhile is skipped and reported, never overwritten.
  ``engine.migration_runs`` runs the same in the background, resumable, with progress.
- ``revert(engine, a, b)`` puts instances moved from ``a`` to ``b`` back on ``a`` with
  the state they had, as long as nothing happened to them since the move.

An instance moves when every task it has open (inside event subprocesses, subprocesses
and call activities too, timers included) and every task it already did has an element
in ``b``, by id or by the plan: see ``engine.migration_move``. Waiting timers keep their
due instant; data, clocks and records stay as they were; an open task is re-opened on
its new definition only if that definition changed.

Each move writes an audit event (``command="migrate"``) and an ``instance_migrations``
row with the previous state, next timer and open human-task rows; a revert restores
exactly those (``command="migrate_revert"``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Connection, insert, select, update

from engine import audit
from engine.deployments import Runtime
from engine.errors import InvalidInput, NotFound
from engine.handlers import Projection
from engine.human_tasks import _new_task as human_task_row
from engine.human_tasks import open_task_ids, sync_human_tasks
from engine.migration_move import Move, SpecComparer, move_workflow
from engine.migration_plan import PlanRow, blocker_for_failure, check_plan, propose_plan, proposed_mapping
from engine.migration_report import InstanceReport, MigrationReport
from engine.models import Deployment, Instance, InstanceMigration
from engine.running_clocks import read_clocks
from engine.spiff import all_workflows, clock_in_use, current_data, transaction_in_use, waiting_timers
from engine.store import InstanceRow, StaleInstance, Store

log = logging.getLogger(__name__)

_RECORD_MOVE = insert(InstanceMigration)
"""Built once: building a statement per instance costs as much as the insert itself."""

__all__ = ["InstanceReport", "MigrationReport", "apply", "dry_run", "plan_rows", "proposed_mapping", "revert"]


# --------------------------------------------------------------------------- entry points


def plan_rows(engine, from_version: int, to_version: int) -> list[PlanRow]:
    """The proposed plan: every element of ``from_version`` and where it would go."""
    source, target = versions_of(engine, from_version, to_version)
    return propose_plan(source.specs, target.specs)


def checked_mapping(source: Runtime, target: Runtime, mapping: Mapping[str, str] | None) -> dict[str, str]:
    """The plan's renames, refused with a field per bad row (``map.<source id>``)."""
    mapping = {key: value for key, value in (mapping or {}).items() if value and key != value}
    problems = check_plan(source.specs, target.specs, mapping)
    if problems:
        raise InvalidInput({problem.field: problem.code for problem in problems})
    return mapping


def dry_run(engine, from_version: int, to_version: int, *, mapping=None, batch: int = 200) -> MigrationReport:
    """What ``apply`` would do, per running instance on ``from_version``; writes nothing."""
    source, target = versions_of(engine, from_version, to_version)
    mapping = checked_mapping(source, target, mapping)
    report = MigrationReport("dry-run", from_version, to_version)
    comparer = SpecComparer()
    db = engine.reader.kw["bind"]
    for ids in running_ids(engine, source.deployment_id, batch):
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
                move = plan_move(engine, store, instance, source, target, mapping, comparer)
                report.instances.append(_report(instance, move, "blocked" if move.blocked else "movable"))
    return report


def apply(
    engine, from_version: int, to_version: int, *, actor: str, mapping=None, batch: int = 200
) -> MigrationReport:
    """Move every movable running instance; one transaction each, lost races skipped."""
    source, target = versions_of(engine, from_version, to_version)
    mapping = checked_mapping(source, target, mapping)
    report = MigrationReport("apply", from_version, to_version)
    comparer = SpecComparer()
    for ids in running_ids(engine, source.deployment_id, batch):
        for instance_id in ids:
            outcome = apply_one(engine, instance_id, source, target, actor, mapping, comparer)
            if outcome is not None:
                report.instances.append(outcome)
    return report


def revert(
    engine, from_version: int, to_version: int, *, actor: str, run_id: int | None = None
) -> MigrationReport:
    """Put instances moved ``from_version`` -> ``to_version`` back (those of one run if given)."""
    source, target = versions_of(engine, from_version, to_version)
    report = MigrationReport("revert", from_version, to_version)
    query = select(InstanceMigration.id).where(
        InstanceMigration.from_deployment_id == source.deployment_id,
        InstanceMigration.to_deployment_id == target.deployment_id,
        InstanceMigration.reverted_at.is_(None),
    )
    if run_id is not None:
        query = query.where(InstanceMigration.run_id == run_id)
    with engine.reader() as session:
        records = session.scalars(
            query.order_by(InstanceMigration.instance_id, InstanceMigration.id.desc())
        ).all()
    for record_id in records:
        outcome = _revert_one(engine, record_id, source, target, actor)
        if outcome is not None:
            report.instances.append(outcome)
    return report


# --------------------------------------------------------------------------- one instance


def apply_one(
    engine,
    instance_id: int,
    source: Runtime,
    target: Runtime,
    actor: str,
    mapping: Mapping[str, str],
    comparer: SpecComparer,
    *,
    on_outcome=None,
) -> InstanceReport | None:
    """Move one instance in its own transaction; ``on_outcome(connection, report)`` runs inside it."""
    try:
        return _apply_one(engine, instance_id, source, target, actor, mapping, comparer, on_outcome)
    except Exception as error:  # noqa: BLE001 - one failing instance must not stop the others
        log.exception("migrating instance %s failed", instance_id)
        report = InstanceReport(instance_id, None, "skipped", "failed", detail=str(error))
        if on_outcome is not None:
            with _writer(engine).connect() as connection, connection.begin():
                on_outcome(connection, report)
        return report


def _apply_one(engine, instance_id, source, target, actor, mapping, comparer, on_outcome):
    now = engine.clock.now()
    with _writer(engine).connect() as connection, connection.begin():
        store = Store(connection)

        def finish(report: InstanceReport | None) -> InstanceReport | None:
            if on_outcome is not None and report is not None:
                on_outcome(connection, report)
            return report

        instance = store.instance(instance_id)
        if instance is None or instance.status != "running" or instance.deployment_id != source.deployment_id:
            return None  # finished or moved meanwhile: nothing to report
        previous_state = store.state(instance.id)
        previous_tasks = store.open_task_rows(instance.id)
        old = source.load_workflow(previous_state, instance.process_id)
        before = open_task_ids(old)
        previous_next = _next_timer(old)
        move = plan_move(engine, store, instance, source, target, mapping, comparer, workflow=old)
        if move.blocked:
            return finish(_report(instance, move, "blocked"))
        workflow = move.workflow
        next_timer_at = _next_timer(workflow)
        try:
            moved = store.move_instance(
                instance,
                deployment_id=target.deployment_id,
                state=move.state,
                next_timer_at=next_timer_at,
                now=now,
            )
        except StaleInstance:
            connection.rollback()
            report = InstanceReport(instance.id, instance.business_key, "skipped", "stale")
            if on_outcome is not None:
                with connection.begin():
                    on_outcome(connection, report)
            return report
        with clock_in_use(engine.clock), transaction_in_use(connection, instance.id):
            changes = sync_human_tasks(
                store, instance.id, workflow, target, before=before, now=now, actor=actor
            )
            opened = {task.id for task in changes.opened}
            for task in _ready_human(workflow):
                if str(task.id) not in opened:
                    store.update_open_task(human_task_row(task, target))
            _project(engine, store, moved, workflow, target, actor, now)
        report = _report(instance, move, "migrated")
        connection.execute(
            _RECORD_MOVE,
            {
                "instance_id": instance.id,
                "from_deployment_id": source.deployment_id,
                "to_deployment_id": target.deployment_id,
                "previous_state": previous_state,
                "previous_next_timer_at": previous_next,
                "previous_tasks": json.dumps(previous_tasks),
                "instance_version": moved.version,
                "migrated_at": now,
                "migrated_by": actor,
                "run_id": getattr(on_outcome, "run_id", None),
            },
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
                "mapping": dict(mapping),
                "notes": move.notes,
                "next_timer_at": next_timer_at.isoformat() if next_timer_at else None,
                **changes.as_detail(),
            },
        )
        finish(report)
    if next_timer_at is not None:
        engine.announce_timer(next_timer_at)
    return report


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

        def refused(code: str) -> InstanceReport:
            return InstanceReport(instance.id, instance.business_key, "refused", code)

        if instance.deployment_id != target.deployment_id:
            return refused("moved_again")
        if instance.status != "running":
            return refused("not_running")
        if instance.version != record["instance_version"]:
            return refused("changed_since")
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
            return refused("stale")
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
    if record["previous_next_timer_at"] is not None:
        engine.announce_timer(record["previous_next_timer_at"])
    return InstanceReport(instance.id, instance.business_key, "reverted")


def plan_move(
    engine, store: Store, instance: InstanceRow, source, target, mapping, comparer, workflow=None
) -> Move:
    """Move the instance in memory (``workflow`` if already loaded: it is changed); never raises."""
    try:
        if workflow is None:
            workflow = source.load_workflow(store.state(instance.id), instance.process_id)
        with clock_in_use(engine.clock), transaction_in_use(store.connection, instance.id):
            return move_workflow(
                workflow,
                instance.process_id,
                target.specs,
                target.version,
                target.script_engine,
                mapping,
                comparer,
            )
    except Exception as error:  # noqa: BLE001 - the library failing: do not move it, say why
        log.warning("planning the migration of instance %s failed: %s", instance.id, error)
        return Move(None, blockers=[blocker_for_failure(instance.process_id, target.version, error)])


# --------------------------------------------------------------------------- helpers


def versions_of(engine, from_version: int, to_version: int) -> tuple[Runtime, Runtime]:
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


def running_ids(engine, deployment_id: int, batch: int, *, after: int = 0) -> Iterator[list[int]]:
    """Running instances of a version in id order after ``after``, a page at a time (keyset)."""
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
        clocks=read_clocks(workflow, runtime.clock_catalogue, now),
        elements=runtime.element_properties,
    )
    for hook in engine.handlers.projections:
        hook(projection)


def _report(instance: InstanceRow, move: Move, outcome: str) -> InstanceReport:
    return InstanceReport(
        instance.id, instance.business_key, outcome, blockers=tuple(move.blockers), notes=tuple(move.notes)
    )
