"""Batch migrations that survive a crash: a ``migration_runs`` row holds the plan and the progress.

``start_run`` records the plan and how many instances are to move; ``run`` moves them in
id order, each in its own transaction that also advances the run's cursor and counters,
so a run that died is resumed by calling ``run`` again: it carries on after the last
instance it dealt with, and an instance already moved is no longer on the source version,
so nothing moves twice. The web starts ``run`` in a thread and polls ``progress``;
``revert_run`` puts back what one run moved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update

from engine.errors import NotFound
from engine.migration_apply import apply_one, checked_mapping, revert, running_ids, versions_of
from engine.migration_move import SpecComparer
from engine.migration_report import InstanceReport, MigrationReport
from engine.models import Instance, MigrationRun


@dataclass(frozen=True)
class RunProgress:
    run_id: int
    from_version: int
    to_version: int
    status: str  # running | done
    total: int
    moved: int
    blocked: int
    skipped: int
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    reverted_at: datetime | None
    mapping: dict[str, str]

    @property
    def done(self) -> int:
        return self.moved + self.blocked + self.skipped

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


def start_run(engine, from_version: int, to_version: int, *, actor: str, mapping=None) -> int:
    """Record a run (plan checked, instances counted); ``run`` does the moving."""
    source, target = versions_of(engine, from_version, to_version)
    mapping = checked_mapping(source, target, mapping)
    with engine.writer() as session, session.begin():
        total = session.scalar(
            select(func.count())
            .select_from(Instance)
            .where(Instance.deployment_id == source.deployment_id, Instance.status == "running")
        )
        row = MigrationRun(
            from_deployment_id=source.deployment_id,
            to_deployment_id=target.deployment_id,
            mapping_json=json.dumps(mapping, sort_keys=True),
            status="running",
            total=total or 0,
            moved=0,
            blocked=0,
            skipped=0,
            last_instance_id=0,
            started_at=engine.clock.now(),
            started_by=actor,
        )
        session.add(row)
        session.flush()
        return row.id


_ADVANCE = {
    counter: update(MigrationRun)
    .where(MigrationRun.id == bindparam("run"))
    .values({counter: getattr(MigrationRun, counter) + 1, "last_instance_id": bindparam("last")})
    for counter in ("moved", "blocked", "skipped")
}
"""One statement per counter, built once (see ``engine.migration_apply._RECORD_MOVE``)."""


class _Progress:
    """Called inside each instance's transaction: the cursor moves with the instance."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id

    def __call__(self, connection, report: InstanceReport) -> None:
        counter = {"migrated": "moved", "blocked": "blocked"}.get(report.outcome, "skipped")
        connection.execute(_ADVANCE[counter], {"run": self.run_id, "last": report.instance_id})


def run(engine, run_id: int, *, stop_after: int | None = None, batch: int = 200) -> MigrationReport:
    """Move the run's instances from where it stopped; ``stop_after`` stops early (a crash, in tests)."""
    row = _row(engine, run_id)
    source, target = engine.runtime(row.from_deployment_id), engine.runtime(row.to_deployment_id)
    report = MigrationReport("apply", source.version, target.version)
    if row.status == "done":
        return report
    mapping, comparer, progress = json.loads(row.mapping_json), SpecComparer(), _Progress(run_id)
    actor = row.started_by
    for ids in running_ids(engine, source.deployment_id, batch, after=row.last_instance_id):
        for instance_id in ids:
            if stop_after is not None and len(report.instances) >= stop_after:
                return report
            outcome = apply_one(
                engine, instance_id, source, target, actor, mapping, comparer, on_outcome=progress
            )
            if outcome is not None:
                report.instances.append(outcome)
    with engine.writer() as session, session.begin():
        session.execute(
            update(MigrationRun)
            .where(MigrationRun.id == run_id)
            .values(status="done", finished_at=engine.clock.now())
        )
    return report


def progress(engine, run_id: int) -> RunProgress:
    return _progress(engine, _row(engine, run_id))


def recent_runs(engine, limit: int = 10) -> list[RunProgress]:
    with engine.reader() as session:
        rows = session.scalars(select(MigrationRun).order_by(MigrationRun.id.desc()).limit(limit)).all()
    return [_progress(engine, row) for row in rows]


def revert_run(engine, run_id: int, *, actor: str) -> MigrationReport:
    """Put back every instance this run moved that did not change since."""
    row = _row(engine, run_id)
    source, target = engine.runtime(row.from_deployment_id), engine.runtime(row.to_deployment_id)
    report = revert(engine, source.version, target.version, actor=actor, run_id=run_id)
    with engine.writer() as session, session.begin():
        session.execute(
            update(MigrationRun)
            .where(MigrationRun.id == run_id)
            .values(reverted_at=engine.clock.now(), reverted_by=actor)
        )
    return report


def _row(engine, run_id: int) -> MigrationRun:
    with engine.reader() as session:
        row = session.get(MigrationRun, run_id)
        if row is None:
            raise NotFound(f"no migration run {run_id}")
        session.expunge(row)
        return row


def _progress(engine, row: MigrationRun) -> RunProgress:
    return RunProgress(
        run_id=row.id,
        from_version=engine.runtime(row.from_deployment_id).version,
        to_version=engine.runtime(row.to_deployment_id).version,
        status=row.status,
        total=row.total,
        moved=row.moved,
        blocked=row.blocked,
        skipped=row.skipped,
        started_by=row.started_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        reverted_at=row.reverted_at,
        mapping=json.loads(row.mapping_json),
    )
