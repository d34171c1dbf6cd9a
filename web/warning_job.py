"""The breach-warning sweep (``web.notifications.sweep``) as a job of the node's scheduler.

Every minute, and at the earliest warning instant ahead (recomputed after every sweep and
whenever a command leaves a new timer, which is when a guarded task appears), so a warning
is not a minute late. The job is registered by the web layer with the engine's
``NodeScheduler`` (one thread per node): the engine knows no warnings (a domain share of a
domain clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from engine.scheduler import WakingJob
from tasks import warning_sweep
from web import mail
from web.engine_access import engine_of
from web.metrics import DATABASE_ERRORS, WARNINGS_SENT
from web.notifications import sweep

NAME = "warnings"
RESCHEDULE_DELAY = timedelta(seconds=2)  # at most one pending look per two seconds


def warning_job(app: Flask, *, sweep_seconds: float = 60.0) -> WakingJob:
    """The sweep of ``app``'s engine, waking at the next warning instant."""
    engine = engine_of(app)

    def work() -> int:
        with app.app_context():
            return sweep(engine, engine.clock.now(), smtp=mail.settings_from())

    job = WakingJob(
        NAME,
        work,
        lambda: warning_sweep.next_warning_at(engine, engine.clock.now()),
        sweep_seconds=sweep_seconds,
        after_pass=WARNINGS_SENT.inc,
        on_outage=DATABASE_ERRORS.labels("scheduler").inc,
    )

    def timers_changed(_due: datetime) -> None:
        """A command left a new timer: a guarded task may have appeared, so look again.

        Off the command's thread, and at most one pending look per two seconds: a burst of
        commands costs one query, and a warning is never more than that late for it.
        """
        job.reschedule_soon(RESCHEDULE_DELAY)

    engine.add_timer_listener(timers_changed)
    return job
