"""Firing due timers and anchoring the audit chains: the node's periodic work, as a part of
``engine.service.ProcessEngine`` (it uses the engine's load, save and commit plumbing)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import func, select

from engine import audit, outbox
from engine.command_types import SYSTEM_ACTOR
from engine.errors import EngineError
from engine.human_tasks import open_task_ids
from engine.models import Instance
from engine.spiff import (
    waiting_timers,
)
from engine.store import InstanceRow, Store

log = logging.getLogger(__name__)

# How often a node anchors the audit's instance chains in the global chain: the most a
# careful deletion (events and head row together) can stay unnoticed without a checkpoint.
ANCHOR_EVERY = timedelta(minutes=1)


class TimerFiring:
    """The timer commands of ``ProcessEngine``."""

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
