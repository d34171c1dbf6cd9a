"""Runs the warning sweep (``web.notifications.sweep``) in ``complaints serve``.

Every minute, and at the earliest warning instant ahead (recomputed after every sweep and
whenever a command leaves a new timer, which is when a guarded task appears), so a warning
is not a minute late. It sits beside the engine's ``TimerScheduler`` rather than inside it:
the engine knows no warnings (a domain share of a domain clock).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from flask import Flask

from engine.database_outage import OutageLog, is_unavailable
from tasks import warnings
from web import mail
from web.engine_access import engine_of
from web.metrics import DATABASE_ERRORS, WARNINGS_SENT
from web.notifications import sweep

log = logging.getLogger(__name__)

RESCHEDULE_DELAY = timedelta(seconds=2)  # at most one pending look per two seconds


class WarningScheduler:
    """Runs :func:`sweep` every minute and at the earliest warning instant ahead."""

    def __init__(self, app: Flask, *, sweep_seconds: float = 60.0) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self._app = app
        self._engine = engine_of(app)
        self._sweep_seconds = sweep_seconds
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._lock = threading.Lock()
        self._outage = OutageLog(log, "warning sweep")
        self.wake_at: datetime | None = None
        self._engine.add_timer_listener(self._timers_changed)

    def start(self) -> None:
        self._scheduler.start()
        self._scheduler.add_job(
            self.run, "interval", seconds=self._sweep_seconds, id="warnings", max_instances=1, coalesce=True
        )
        self._scheduler.add_job(self.run, "date", id="warnings-now", misfire_grace_time=None)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def run(self) -> int:
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            with self._app.app_context():
                now = self._engine.clock.now()
                sent = sweep(self._engine, now, smtp=mail.settings_from())
            self._outage.recovered()
            WARNINGS_SENT.inc(sent)
            return sent
        except Exception as error:  # the scheduler thread must survive a database outage
            if is_unavailable(error):
                DATABASE_ERRORS.labels("scheduler").inc()
                self._outage.failed(error)  # one line per outage, not one per minute
            else:
                log.exception("warning sweep failed; the next sweep retries")
            return 0
        finally:
            self._lock.release()
            self.reschedule()

    def reschedule(self) -> None:
        """Wake at the earliest warning instant ahead (recomputed from the database)."""
        try:
            ahead = warnings.next_warning_at(self._engine, self._engine.clock.now())
        except Exception as error:  # the minute sweep covers it
            if is_unavailable(error):
                self._outage.failed(error)
            else:
                log.exception("could not compute the next warning instant")
            return
        self.wake_at = ahead
        if ahead is not None and self._scheduler.running:
            self._scheduler.add_job(
                self.run,
                "date",
                run_date=ahead + timedelta(milliseconds=1),
                id="warnings-wake",
                replace_existing=True,
                misfire_grace_time=None,
                max_instances=2,
            )

    def _timers_changed(self, due: datetime) -> None:
        """A command left a new timer: a guarded task may have appeared, so look again.

        Off the command's thread, and at most one pending look per two seconds: a burst of
        commands costs one query, and a warning is never more than that late for it.
        """
        if not self._scheduler.running or self._scheduler.get_job("warnings-reschedule") is not None:
            return
        self._scheduler.add_job(
            self.reschedule,
            "date",
            run_date=datetime.now(UTC) + RESCHEDULE_DELAY,
            id="warnings-reschedule",
            misfire_grace_time=None,
        )


def start_scheduler(app: Flask) -> WarningScheduler:
    scheduler = WarningScheduler(app)
    scheduler.start()
    app.extensions["warning_scheduler"] = scheduler
    return scheduler
