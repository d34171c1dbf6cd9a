"""One scheduler per node: one APScheduler thread, jobs registered by the layers.

Every job here has the same shape (:class:`WakingJob`): a pass of work that is safe to
repeat (it claims what it handles in the database, so several nodes never do it twice),
run at start (what fell due while no node ran is caught up in the background, so a node
with thousands of overdue timers answers at once), on a short periodic sweep (other
nodes' commits, anything missed) and at the earliest instant ahead that the job computes
from the database after each pass (no fixed poll, so no poll lag).

The engine registers its timers (:func:`timer_job`); the web layer adds the domain's
breach-warning sweep (``web.warning_job``) and any other follow-up with
``NodeScheduler.register``.
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


class WakingJob:
    """A pass of work run at start, every ``sweep_seconds`` and at the next instant it needs.

    ``work()`` does one pass and returns how many things it handled (given to
    ``after_pass``, e.g. metrics); ``next_at()`` is the earliest instant another pass is
    needed, or None. One pass at a time per node; a database outage is logged once, not
    once per sweep, and never kills the scheduler's thread.
    """

    def __init__(
        self,
        name: str,
        work: Callable[[], int],
        next_at: Callable[[], datetime | None],
        *,
        sweep_seconds: float,
        after_pass: Callable[[int], None] | None = None,
        on_outage: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.sweep_seconds = sweep_seconds
        self._work = work
        self._next_at = next_at
        self._after_pass = after_pass
        self._on_outage = on_outage
        self._outage = OutageLog(log, name)
        self._scheduler: BackgroundScheduler | None = None
        self._run_lock = threading.Lock()
        self._wake_lock = threading.Lock()
        self.wake_at: datetime | None = None
        """The instant the next pass is scheduled for (besides the sweep), if any."""
        self.caught_up = threading.Event()
        """Set once the pass at start has run."""

    @property
    def wake_id(self) -> str:
        return f"{self.name}:wake"

    def attach(self, scheduler: BackgroundScheduler) -> None:
        self._scheduler = scheduler

    def start(self) -> None:
        """The pass at start, in the background, and the periodic sweep."""
        assert self._scheduler is not None, "register the job with a NodeScheduler first"
        self._scheduler.add_job(self._catch_up, "date", id=f"{self.name}:start", misfire_grace_time=None)
        self._scheduler.add_job(
            self._sweep,
            "interval",
            seconds=self.sweep_seconds,
            id=f"{self.name}:sweep",
            max_instances=1,
            coalesce=True,
        )

    def run(self, *, wait: bool = True) -> int:
        """One pass now (or 0 when one is running and ``wait`` is false); then the next wake-up."""
        if not self._run_lock.acquire(blocking=wait):
            return 0
        try:
            done = self._work()
            self._outage.recovered()
            if self._after_pass is not None:
                self._after_pass(done)
            return done
        except Exception as error:  # the scheduler thread must survive a database outage
            self._failed(error, f"{self.name} failed; the sweep retries")
            return 0
        finally:
            self._run_lock.release()
            self.reschedule()

    def notice(self, due: datetime) -> None:
        """Something needs a pass at ``due``: wake then if that is earlier than planned.

        While a pass runs, it reschedules from the database when it ends, so a notice then
        has nothing to do (and must not replace the running wake job).
        """
        if self._run_lock.locked():
            return
        self._wake(due)

    def _wake(self, due: datetime, *, replacing: bool = False) -> None:
        """Plan the next pass at ``due`` (``replacing``: whatever was planned, else only if earlier)."""
        with self._wake_lock:
            if not replacing and self.wake_at is not None and due >= self.wake_at:
                return
            self.wake_at = due
        if self._scheduler is not None and self._scheduler.running:
            # A wake job reschedules its successor before it returns: allow the overlap.
            self._scheduler.add_job(
                self.run,
                "date",
                run_date=due + _PAST_DUE,
                id=self.wake_id,
                replace_existing=True,
                misfire_grace_time=None,
                max_instances=2,
            )

    def reschedule(self) -> None:
        """Wake at the earliest instant ahead, recomputed from the database.

        The plan is replaced in one step (never cleared first), so a pass of the sweep running
        meanwhile cannot leave the job with no wake-up planned.
        """
        try:
            due = self._next_at()
        except Exception as error:  # the sweep covers it
            with self._wake_lock:
                self.wake_at = None
            self._failed(error, f"{self.name}: could not compute the next instant")
            return
        if due is None:
            with self._wake_lock:
                self.wake_at = None
            return
        self._wake(due, replacing=True)

    def reschedule_soon(self, delay: timedelta) -> None:
        """Recompute the next instant off the caller's thread; a burst of calls costs one query."""
        scheduler = self._scheduler
        job_id = f"{self.name}:reschedule"
        if scheduler is None or not scheduler.running or scheduler.get_job(job_id) is not None:
            return
        scheduler.add_job(
            self.reschedule, "date", run_date=datetime.now(UTC) + delay, id=job_id, misfire_grace_time=None
        )

    def _catch_up(self) -> None:
        try:
            self.run()
        finally:
            self.caught_up.set()

    def _sweep(self) -> None:
        """Covers what other nodes did: this node hears only of its own commits."""
        self.run(wait=False)

    def _failed(self, error: Exception, message: str) -> None:
        if is_unavailable(error):
            if self._on_outage is not None:
                self._on_outage()
            self._outage.failed(error)  # one line per outage, not one per sweep
        else:
            log.exception(message)


class NodeScheduler:
    """This node's one scheduler thread; each layer registers its :class:`WakingJob`."""

    def __init__(self) -> None:
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self.jobs: dict[str, WakingJob] = {}

    def register(self, job: WakingJob) -> WakingJob:
        """Add a job (before or after :meth:`start`); its name must be new."""
        if job.name in self.jobs:
            raise ValueError(f"a scheduler job named {job.name!r} is registered already")
        job.attach(self._scheduler)
        self.jobs[job.name] = job
        if self._scheduler.running:
            job.start()
        return job

    def start(self) -> None:
        """Start the thread; every job's pass at start runs in the background."""
        self._scheduler.start()
        for job in self.jobs.values():
            job.start()

    @property
    def running(self) -> bool:
        return self._scheduler.running

    def next_run(self, job_id: str) -> datetime | None:
        """When the APScheduler job ``job_id`` (e.g. ``"timers:wake"``) runs next, if it is pending."""
        found = self._scheduler.get_job(job_id)
        return found.next_run_time if found is not None else None

    def shutdown(self) -> None:
        """Stop, letting a running pass finish; twice is harmless."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


def timer_job(
    engine: ProcessEngine, *, sweep_seconds: float = 5.0, after_pass: Callable[[int], None] | None = None
) -> WakingJob:
    """The engine's timers: fire what is due; wake at the next due instant, moved forward by
    every commit that leaves an earlier timer (``after_pass`` is told how many instances each
    pass stepped)."""
    job = WakingJob(
        "timers",
        engine.fire_all_due,
        engine.next_timer_at,
        sweep_seconds=sweep_seconds,
        after_pass=after_pass,
    )
    engine.add_timer_listener(job.notice)
    return job


def outbox_job(engine: ProcessEngine, *, sweep_seconds: float = 5.0) -> WakingJob:
    """The outbox (engine.outbox): deliver the follow-ups left pending (a process died after its
    commit, a delivery failed and waits for its retry), at start and then every sweep."""
    return WakingJob("outbox", engine.outbox.deliver_pending, lambda: None, sweep_seconds=sweep_seconds)


class TimerScheduler(NodeScheduler):
    """A node scheduler with the engine's timer job registered: all an engine-only node needs."""

    def __init__(
        self,
        engine: ProcessEngine,
        *,
        sweep_seconds: float = 5.0,
        after_pass: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        self.timers = self.register(timer_job(engine, sweep_seconds=sweep_seconds, after_pass=after_pass))
        self.register(outbox_job(engine, sweep_seconds=sweep_seconds))
        self.caught_up = self.timers.caught_up

    def run_due(self, *, wait: bool = True) -> int:
        """Fire everything due now; one firing pass at a time per node."""
        return self.timers.run(wait=wait)
