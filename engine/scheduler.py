"""Waking this node exactly when the next timer falls due.

One APScheduler ``date`` job is kept at the earliest due instant: every commit
that leaves an earlier timer moves it forward (no fixed poll, so no poll lag). A
short periodic sweep catches timers created by other nodes and anything missed.
Firing claims due instances in the database, so several nodes never fire the
same timer twice. Overdue timers (the server was down) fire in the background right
after ``start()``: a node with thousands of them answers at once instead of after minutes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from engine.database_outage import OutageLog, is_unavailable
from engine.service import ProcessEngine

log = logging.getLogger(__name__)

# SpiffWorkflow fires a timer once the clock is strictly past its due instant.
_PAST_DUE = timedelta(milliseconds=1)


class TimerScheduler:
    def __init__(
        self,
        engine: ProcessEngine,
        *,
        sweep_seconds: float = 5.0,
        after_pass: Callable[[int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._sweep_seconds = sweep_seconds
        self._after_pass = after_pass  # told how many instances each firing pass stepped (metrics)
        self._outage = OutageLog(log, "timer scheduler")
        self.caught_up = threading.Event()  # set once the timers overdue at start have fired
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._wake_at: datetime | None = None
        self._schedule_lock = threading.Lock()
        self._fire_lock = threading.Lock()
        engine.add_timer_listener(self.notice)

    def start(self) -> None:
        """Keep watching; what fell due while no node was running fires now, in the background."""
        self._scheduler.start()
        self._scheduler.add_job(self._catch_up, "date", id="catch-up", misfire_grace_time=None)
        self._scheduler.add_job(
            self._sweep,
            "interval",
            seconds=self._sweep_seconds,
            id="sweep",
            max_instances=1,
            coalesce=True,
        )
        # Follow-ups left pending (a process died after its commit, a delivery failed): now, then
        # periodically.
        self._scheduler.add_job(
            deliver_outbox,
            "interval",
            args=[self._engine],
            seconds=self._sweep_seconds,
            id="outbox",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )

    def _catch_up(self) -> None:
        try:
            self.run_due()
        finally:
            self.caught_up.set()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def notice(self, due: datetime) -> None:
        """Called after a commit that left a timer due at ``due``: wake earlier if needed.

        While a firing pass runs, it reschedules from the database when it ends, so a
        notice then has nothing to do (and must not replace the running wake job).
        """
        if self._fire_lock.locked():
            return
        with self._schedule_lock:
            if self._wake_at is not None and due >= self._wake_at:
                return
            self._wake_at = due
        if self._scheduler.running:
            # A wake job reschedules its successor before it returns: allow the overlap.
            self._scheduler.add_job(
                self.run_due,
                "date",
                run_date=due + _PAST_DUE,
                id="wake",
                replace_existing=True,
                misfire_grace_time=None,
                max_instances=2,
            )

    def run_due(self, *, wait: bool = True) -> int:
        """Fire everything due now; one firing pass at a time per node."""
        if not self._fire_lock.acquire(blocking=wait):
            return 0
        try:
            fired = self._engine.fire_all_due()
            self._outage.recovered()
            if self._after_pass is not None:
                self._after_pass(fired)
            return fired
        except Exception as error:  # the scheduler thread must survive a database outage
            if is_unavailable(error):
                self._outage.failed(error)  # one line per outage, not one per sweep
            else:
                log.exception("firing due timers failed; the sweep will retry")
            return 0
        finally:
            self._fire_lock.release()
            with self._schedule_lock:
                self._wake_at = None
            self._schedule_next()

    def _sweep(self) -> None:
        """Covers timers that other nodes created: this node hears only of its own commits."""
        self.run_due(wait=False)

    def _schedule_next(self) -> None:
        try:
            due = self._engine.next_timer_at()
        except Exception as error:
            if not is_unavailable(error):
                raise
            self._outage.failed(error)
            return
        if due is not None:
            self.notice(due)


def deliver_outbox(engine: ProcessEngine) -> int:
    """The outbox's periodic job (engine.outbox): deliver what is pending; survive an outage."""
    try:
        return engine.outbox.deliver_pending()
    except Exception as error:  # the scheduler thread must survive a database outage
        if not is_unavailable(error):
            log.exception("delivering the outbox failed; the next pass retries")
        return 0
