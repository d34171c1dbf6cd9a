"""Waking this node exactly when the next timer falls due.

One APScheduler ``date`` job is kept at the earliest due instant: every commit
that leaves an earlier timer moves it forward (no fixed poll, so no poll lag). A
short periodic sweep catches timers created by other nodes and anything missed.
Firing claims due instances in the database, so several nodes never fire the
same timer twice; overdue timers (the server was down) fire in ``start()``.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from engine.service import ProcessEngine

log = logging.getLogger(__name__)

# SpiffWorkflow fires a timer once the clock is strictly past its due instant.
_PAST_DUE = timedelta(milliseconds=1)


class TimerScheduler:
    def __init__(self, engine: ProcessEngine, *, sweep_seconds: float = 5.0) -> None:
        self._engine = engine
        self._sweep_seconds = sweep_seconds
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._wake_at: datetime | None = None
        self._schedule_lock = threading.Lock()
        self._fire_lock = threading.Lock()
        engine.add_timer_listener(self.notice)

    def start(self) -> int:
        """Fire what fell due while no node was running, then keep watching; returns that count."""
        self._scheduler.start()
        fired = self.run_due()
        self._scheduler.add_job(
            self._sweep,
            "interval",
            seconds=self._sweep_seconds,
            id="sweep",
            max_instances=1,
            coalesce=True,
        )
        return fired

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
            return self._engine.fire_all_due()
        except Exception:  # the scheduler thread must survive a database hiccup
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
        due = self._engine.next_timer_at()
        if due is not None:
            self.notice(due)
