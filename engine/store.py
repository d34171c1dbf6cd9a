"""The statements of the command path, written out in SQL (sent to the driver: engine.driver_sql).

Every user action runs about eight small statements. Through SQLAlchemy's Core or
ORM each costs ~0.3 ms of Python (compiling, result processing, unit of work),
twenty times what SQLite itself spends; sent to the driver as plain SQL they cost
~0.05 ms (measured for bench/engine.py). So the command path sends them to the
driver on the command's connection: one transaction, committed or rolled back
whole. Pages, reports and deploys use the ORM models in engine.models, which
describe the same tables (and UTCDateTime the same storage of instants).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine.driver_sql import DriverSql
from engine.models import END_OF_TIME, AuditEvent


class StaleInstance(Exception):
    """Another command committed a newer version of the instance first."""


@dataclass(frozen=True)
class DeploymentRow:
    id: int
    version: int
    main_process: str


@dataclass(frozen=True)
class InstanceRow:
    id: int
    deployment_id: int
    process_id: str
    status: str
    version: int
    business_key: str | None


@dataclass(frozen=True)
class TaskRow:
    id: str
    instance_id: int
    element_id: str
    status: str
    candidate_group: str | None
    assignee: str | None
    form: str | None
    completed_by: str | None


@dataclass(frozen=True)
class NewTask:
    id: str
    element_id: str
    name: str
    lane: str | None
    candidate_group: str | None
    form: str | None
    priority: int
    due_at: datetime | None
    assignee: str | None = None


class Store(DriverSql):
    """The command path's statements inside one command's transaction (``engine.driver_sql``)."""

    # ------------------------------------------------------------------ reads

    def task(self, task_id: str) -> TaskRow | None:
        row = self.one(
            "SELECT id, instance_id, element_id, status, candidate_group, assignee, form, completed_by "
            "FROM human_tasks WHERE id = :id",
            id=task_id,
        )
        return TaskRow(*row) if row else None

    def instance(self, instance_id: int) -> InstanceRow | None:
        row = self.one(
            "SELECT id, deployment_id, process_id, status, version, business_key "
            "FROM instances WHERE id = :id",
            id=instance_id,
        )
        return InstanceRow(*row) if row else None

    def deployment(self, version: int | None) -> DeploymentRow | None:
        """The given version, or the default one when ``version`` is None.

        The default is the version an admin chose (``default_version``) while no newer
        version has been deployed since the choice; otherwise the newest.
        """
        columns = "SELECT id, version, main_process FROM deployments"
        if version is not None:
            row = self.one(f"{columns} WHERE version = :version", version=version)
            return DeploymentRow(*row) if row else None
        row = self.one(
            "SELECT d.id, d.version, d.main_process FROM default_version c "
            "JOIN deployments d ON d.id = c.deployment_id WHERE c.id = 1 "
            "AND NOT EXISTS (SELECT 1 FROM deployments n WHERE n.version > c.newest_version)"
        )
        row = row or self.one(f"{columns} ORDER BY version DESC LIMIT 1")
        return DeploymentRow(*row) if row else None

    def choose_default(self, deployment_id: int, now: datetime, actor: str) -> None:
        """Make ``deployment_id`` the default until the next deploy of a newer version."""
        self.run("DELETE FROM default_version WHERE id = 1")
        self.run(
            "INSERT INTO default_version (id, deployment_id, newest_version, chosen_at, chosen_by) "
            "SELECT 1, :deployment_id, MAX(version), :now, :actor FROM deployments",
            deployment_id=deployment_id,
            now=self.instant(now),
            actor=actor,
        )

    def state(self, instance_id: int) -> str:
        return self.one("SELECT state FROM instances WHERE id = :id", id=instance_id)[0]

    def claim_due_instance(self, now: datetime) -> tuple[InstanceRow, str] | None:
        """The running instance whose timer fell due first before ``now``, with its state, claimed.

        On PostgreSQL the row stays locked until commit and other nodes skip it; SQLite's
        single writer gives the same guarantee. The state comes in the same round trip:
        a firing rarely finds its instance's workflow cached.
        """
        lock = " FOR UPDATE SKIP LOCKED" if self.postgres else ""
        row = self.one(
            "SELECT id, deployment_id, process_id, status, version, business_key, state FROM instances "
            f"WHERE status = 'running' AND next_timer_at < :now ORDER BY next_timer_at LIMIT 1{lock}",
            now=self.instant(now),
        )
        return (InstanceRow(*row[:6]), row[6]) if row else None

    def claim_unchanged(self, instance: InstanceRow) -> bool:
        """Lock the instance if it still runs at the version read; False if it moved on (or is locked)."""
        lock = " FOR UPDATE SKIP LOCKED" if self.postgres else ""
        return (
            self.one(
                f"SELECT 1 FROM instances WHERE id = :id AND version = :version AND status = 'running'{lock}",
                id=instance.id,
                version=instance.version,
            )
            is not None
        )

    # ------------------------------------------------------------------ instances

    def insert_instance(
        self, *, deployment_id: int, process_id: str, business_key: str | None, now: datetime, actor: str
    ) -> InstanceRow:
        new_id = self.one(
            "INSERT INTO instances (deployment_id, process_id, business_key, status, state, version, "
            "created_at, updated_at, started_by) VALUES (:deployment_id, :process_id, :business_key, "
            "'running', '', 0, :now, :now, :actor) RETURNING id",
            deployment_id=deployment_id,
            process_id=process_id,
            business_key=business_key,
            now=self.instant(now),
            actor=actor,
        )[0]
        return InstanceRow(new_id, deployment_id, process_id, "running", 0, business_key)

    def save_instance(
        self,
        instance: InstanceRow,
        *,
        state: str | None,
        status: str,
        next_timer_at: datetime | None,
        now: datetime,
        business_key: str | None = None,
    ) -> InstanceRow:
        """Write the new state if nobody else did since it was read; returns the new row.

        ``business_key`` is only set when the instance has none yet (it never changes).
        """
        assignments = "status = :status, next_timer_at = :next_timer_at, updated_at = :now, "
        assignments += "version = :version + 1"
        if state is not None:
            assignments += ", state = :state"
        if business_key is not None and instance.business_key is None:
            assignments += ", business_key = :business_key"
        if status != "running" and instance.status == "running":
            assignments += ", completed_at = :now"
        result = self.run(
            f"UPDATE instances SET {assignments} WHERE id = :id AND version = :version",
            id=instance.id,
            version=instance.version,
            state=state,
            status=status,
            next_timer_at=self.instant(next_timer_at),
            now=self.instant(now),
            business_key=business_key,
        )
        if result.rowcount != 1:
            raise StaleInstance(instance.id)
        return replace(
            instance,
            status=status,
            version=instance.version + 1,
            business_key=instance.business_key or business_key,
        )

    def touch_instance(self, instance: InstanceRow, now: datetime) -> InstanceRow:
        """Bump the version only (claims): concurrent claims then conflict like completions."""
        result = self.run(
            "UPDATE instances SET version = :version + 1, updated_at = :now "
            "WHERE id = :id AND version = :version",
            id=instance.id,
            version=instance.version,
            now=self.instant(now),
        )
        if result.rowcount != 1:
            raise StaleInstance(instance.id)
        return replace(instance, version=instance.version + 1)

    def move_instance(
        self,
        instance: InstanceRow,
        *,
        deployment_id: int,
        state: str,
        next_timer_at: datetime | None,
        now: datetime,
    ) -> InstanceRow:
        """Put a running instance on another version (migration, revert), if nobody wrote it since."""
        result = self.run(
            "UPDATE instances SET deployment_id = :deployment_id, state = :state, "
            "next_timer_at = :next_timer_at, updated_at = :now, version = :version + 1 "
            "WHERE id = :id AND version = :version AND status = 'running'",
            id=instance.id,
            version=instance.version,
            deployment_id=deployment_id,
            state=state,
            next_timer_at=self.instant(next_timer_at),
            now=self.instant(now),
        )
        if result.rowcount != 1:
            raise StaleInstance(instance.id)
        return replace(instance, deployment_id=deployment_id, version=instance.version + 1)

    def park_instance(self, instance_id: int, now: datetime) -> None:
        """Take a failing instance out of the timer queue until someone repairs it."""
        self.run(
            "UPDATE instances SET status = 'error', next_timer_at = NULL, updated_at = :now, "
            "version = version + 1 WHERE id = :id",
            id=instance_id,
            now=self.instant(now),
        )

    # ------------------------------------------------------------------ human tasks

    def insert_tasks(self, instance_id: int, tasks: Sequence[NewTask], now: datetime) -> None:
        for task in tasks:
            self.run(
                "INSERT INTO human_tasks (id, instance_id, element_id, name, lane, candidate_group, "
                "assignee, form, status, priority, due_at, due_sort, created_at) VALUES (:id, :instance_id, "
                ":element_id, :name, :lane, :candidate_group, :assignee, :form, 'open', :priority, :due_at, "
                ":due_sort, :now)",
                id=task.id,
                instance_id=instance_id,
                element_id=task.element_id,
                name=task.name,
                lane=task.lane,
                candidate_group=task.candidate_group,
                assignee=task.assignee,
                form=task.form,
                priority=task.priority,
                due_at=self.instant(task.due_at),
                due_sort=self.instant(task.due_at or END_OF_TIME),
                now=self.instant(now),
            )

    def close_tasks(self, task_ids: Iterable[str], status: str, now: datetime, actor: str) -> None:
        ids = list(task_ids)
        if not ids:
            return
        names = {f"id{n}": task_id for n, task_id in enumerate(ids)}
        self.run(
            "UPDATE human_tasks SET status = :status, completed_at = :now, completed_by = :actor "
            f"WHERE status = 'open' AND id IN ({', '.join(':' + name for name in names)})",
            status=status,
            now=self.instant(now),
            actor=actor,
            **names,
        )

    def open_task_rows(self, instance_id: int) -> list[dict[str, Any]]:
        """What the spec decided about each open human-task row (kept by a migration for its revert)."""
        rows = self.all(
            f"SELECT {', '.join(_TASK_SPEC_COLUMNS)} FROM human_tasks "
            "WHERE instance_id = :id AND status = 'open'",
            id=instance_id,
        )
        return [dict(zip(_TASK_SPEC_COLUMNS, row, strict=True)) for row in rows]

    def update_open_task(self, task: NewTask) -> None:
        """Rewrite what the spec says about an open task (a migration); claim, times and history stay."""
        self.run(
            "UPDATE human_tasks SET element_id = :element_id, name = :name, lane = :lane, "
            "candidate_group = :candidate_group, form = :form, priority = :priority "
            "WHERE id = :id AND status = 'open'",
            id=task.id,
            element_id=task.element_id,
            name=task.name,
            lane=task.lane,
            candidate_group=task.candidate_group,
            form=task.form,
            priority=task.priority,
        )

    def restore_open_tasks(self, instance_id: int, rows: Sequence[dict[str, Any]]) -> None:
        """Make the instance's open rows those of ``rows`` (from ``open_task_rows``) again: a revert.

        Rows opened since are deleted, rows closed since are re-opened, and every kept
        row gets its spec columns back; claims and creation times are untouched.
        """
        keep = [row["id"] for row in rows]
        names = {f"id{n}": task_id for n, task_id in enumerate(keep)}
        not_kept = f" AND id NOT IN ({', '.join(':' + name for name in names)})" if names else ""
        self.run(
            f"DELETE FROM human_tasks WHERE instance_id = :instance_id AND status = 'open'{not_kept}",
            instance_id=instance_id,
            **names,
        )
        for row in rows:
            self.run(
                "UPDATE human_tasks SET status = 'open', completed_at = NULL, completed_by = NULL, "
                "element_id = :element_id, name = :name, lane = :lane, candidate_group = :candidate_group, "
                "form = :form, priority = :priority WHERE id = :id",
                **row,
            )

    def set_assignee(self, task_id: str, assignee: str | None, claimed_by: str | None, now: datetime) -> None:
        self.run(
            "UPDATE human_tasks SET assignee = :assignee, claimed_by = :claimed_by, claimed_at = :claimed_at "
            "WHERE id = :id",
            id=task_id,
            assignee=assignee,
            claimed_by=claimed_by,
            claimed_at=self.instant(now) if assignee is not None else None,
        )

    # ------------------------------------------------------------------ timers and audit

    def insert_firing(
        self,
        *,
        instance_id: int,
        element_id: str,
        task_id: str,
        due_at: datetime,
        fired_at: datetime,
        fired_by: str,
    ) -> None:
        self.run(
            "INSERT INTO timer_firings (instance_id, element_id, task_id, due_at, fired_at, lateness_s, "
            "fired_by) VALUES (:instance_id, :element_id, :task_id, :due_at, :fired_at, :lateness_s, "
            ":fired_by)",
            instance_id=instance_id,
            element_id=element_id,
            task_id=task_id,
            due_at=self.instant(due_at),
            fired_at=self.instant(fired_at),
            lateness_s=(fired_at - due_at).total_seconds(),
            fired_by=fired_by,
        )

    def advance_audit_chain(self, chain: int) -> tuple[int, str]:
        """Take the chain's next position and its tip; the chain's head row lock orders its appenders.

        Chain 0 is the global chain (``audit_head``, written rarely); any other is an
        instance's, whose head row only commands on that instance write.
        """
        if chain == 0:
            row = self.one(
                "UPDATE audit_head SET last_id = last_id + 1 WHERE id = 1 RETURNING last_id, last_hash"
            )
        else:
            row = self.one(
                "INSERT INTO audit_chains (chain, seq, tip) VALUES (:chain, 1, :genesis) "
                "ON CONFLICT (chain) DO UPDATE SET seq = audit_chains.seq + 1 RETURNING seq, tip",
                chain=chain,
                genesis="0" * 64,
            )
        return row[0], row[1]

    def insert_audit_event(self, event: AuditEvent) -> int:
        """Store the event and make it its chain's tip; returns its id.

        On PostgreSQL an instance chain's event and tip go in one round trip (a data-modifying
        CTE): every firing and command appends one, and in a busy process each round trip also
        waits for the interpreter lock.
        """
        values = {
            "chain": event.chain,
            "seq": event.seq,
            "at": self.instant(event.at),
            "actor": event.actor,
            "command": event.command,
            "instance_id": event.instance_id,
            "detail": event.detail,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
        }
        insert = (
            "INSERT INTO audit_events (chain, seq, at, actor, command, instance_id, detail, prev_hash, hash) "
            "VALUES (:chain, :seq, :at, :actor, :command, :instance_id, :detail, :prev_hash, :hash) "
            "RETURNING id"
        )
        if event.chain != 0 and self.postgres:
            row = self.one(
                f"WITH event AS ({insert}) UPDATE audit_chains SET tip = :hash WHERE chain = :chain "
                "RETURNING (SELECT id FROM event)",
                **values,
            )
            if row is None:  # advance_audit_chain made the row in this transaction: cannot happen
                raise RuntimeError(f"audit chain {event.chain} has no head row")
            return row[0]
        event_id = self.one(insert, **values)[0]
        if event.chain == 0:
            self.run("UPDATE audit_head SET last_hash = :hash WHERE id = 1", hash=event.hash)
        else:
            self.run(
                "UPDATE audit_chains SET tip = :hash WHERE chain = :chain", hash=event.hash, chain=event.chain
            )
        return event_id

    def lock_global_chain(self) -> None:
        """Hold the global chain's head until commit (an anchor reads, then appends)."""
        self.run("UPDATE audit_head SET last_id = last_id WHERE id = 1")

    def unanchored_tips(self, limit: int) -> list[tuple[int, int, str]]:
        """Instance chains grown since they were last anchored: (chain, seq, tip), read, not locked."""
        return [
            (chain, seq, tip)
            for chain, seq, tip in self.all(
                "SELECT c.chain, c.seq, c.tip FROM audit_chains c LEFT JOIN audit_anchored a "
                "ON a.chain = c.chain WHERE a.seq IS NULL OR a.seq < c.seq ORDER BY c.chain LIMIT :limit",
                limit=limit,
            )
        ]

    def mark_anchored(self, tips: Sequence[tuple[int, int, str]]) -> None:
        for chain, seq, _tip in tips:
            self.run(
                "INSERT INTO audit_anchored (chain, seq) VALUES (:chain, :seq) "
                "ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq",
                chain=chain,
                seq=seq,
            )


_TASK_SPEC_COLUMNS = ("id", "element_id", "name", "lane", "candidate_group", "form", "priority")
