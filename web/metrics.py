"""``GET /metrics``: Prometheus metrics for operators (prometheus-client).

What is measured:

- ``complaints_http_request_duration_seconds{method,route,status}``: request latency by
  route (the URL rule, never the raw path, so ids do not multiply the series);
- ``complaints_commands_total{kind,outcome}``: engine commands (start, complete, claim, ...)
  by how they ended (ok, conflict, invalid_input, database_unavailable, ...);
- ``complaints_timers_fired_total`` and ``complaints_timer_lateness_seconds``: timers this
  node fired and how late (fired minus due), from the scheduler process;
- ``complaints_timers_waiting``, ``complaints_timers_overdue``,
  ``complaints_timers_overdue_oldest_seconds``: read from the database at each scrape, so
  they describe the whole cluster, whichever node answers;
- ``complaints_warnings_sent_total``: breach warnings sent;
- ``complaints_database_errors_total{part}``: failures to reach or use the database.

Who may read it: nobody until ``METRICS_TOKEN`` is set (404); then whoever sends
``Authorization: Bearer <token>`` (else 401). The numbers reveal no complaint, but
volumes and timings are the operator's business.

Under ``complaints serve`` every worker and the scheduler are separate processes: they
write to ``PROMETHEUS_MULTIPROC_DIR`` (set by ``web.server``) and a scrape adds them up.
That variable must be set before this module is first imported, which is why the app
imports it inside ``create_app``.
"""

from __future__ import annotations

import functools
import hmac
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from engine import errors
from engine.database_outage import is_unavailable
from engine.models import Instance, TimerFiring
from web.auth import public
from web.engine_access import current_engine, engine_of

REQUEST_SECONDS = Histogram(
    "complaints_http_request_duration_seconds",
    "Time to answer a request, by route",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COMMANDS = Counter("complaints_commands_total", "Engine commands by kind and outcome", ["kind", "outcome"])
TIMERS_FIRED = Counter("complaints_timers_fired_total", "Timers fired by this node's scheduler")
TIMER_LATENESS = Histogram(
    "complaints_timer_lateness_seconds",
    "How late a timer fired: fired minus due",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 86400),
)
WARNINGS_SENT = Counter("complaints_warnings_sent_total", "Breach warnings sent")
DATABASE_ERRORS = Counter(
    "complaints_database_errors_total", "Failures to reach or use the database", ["part"]
)

# The engine's commands, as ProcessEngine methods, and the kind each is counted under.
COMMAND_KINDS = {
    "start": "start",
    "complete_task": "complete",
    "claim": "claim",
    "unclaim": "unclaim",
    "assign": "assign",
    "send_message": "message",
}
OUTCOMES: dict[type[Exception], str] = {
    errors.NotFound: "not_found",
    errors.Conflict: "conflict",
    errors.Forbidden: "forbidden",
    errors.InvalidInput: "invalid_input",
    errors.ProcessError: "process_error",
}

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    """Time every request and count the app engine's commands; serve ``/metrics``."""
    app.before_request(_start_timing)
    app.after_request(_observe_request)
    count_commands(engine_of(app))
    app.register_blueprint(bp)


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if is_unavailable(error):
        return "database_unavailable"
    for kind, outcome in OUTCOMES.items():
        if isinstance(error, kind):
            return outcome
    return "error"


def count_commands(engine: Any) -> None:
    """Count each command by outcome where the engine's callers call it.

    The engine knows nothing of metrics; its command methods on this one engine object
    are wrapped instead, so every caller (pages, API) is counted alike.
    """
    for method_name, kind in COMMAND_KINDS.items():
        setattr(engine, method_name, _counted(getattr(engine, method_name), kind))


def _counted(command: Callable[..., Any], kind: str) -> Callable[..., Any]:
    @functools.wraps(command)
    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            result = command(*args, **kwargs)
        except Exception as error:
            COMMANDS.labels(kind, outcome_of(error)).inc()
            raise
        COMMANDS.labels(kind, "ok").inc()
        return result

    return counted


class FiringObserver:
    """After each firing pass of the scheduler: count the timers fired and how late they were.

    Reads this process's own firings (the node name carries the pid) by increasing id,
    so each is observed once and the query touches only new rows.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._last_id = 0

    def __call__(self, stepped: int) -> None:
        if not stepped:
            return
        with self._engine.reader() as session:
            rows = session.execute(
                select(TimerFiring.id, TimerFiring.lateness_s)
                .where(TimerFiring.id > self._last_id, TimerFiring.fired_by == self._engine.node)
                .order_by(TimerFiring.id)
            ).all()
        for row in rows:
            TIMER_LATENESS.observe(max(row.lateness_s, 0.0))
            self._last_id = row.id
        TIMERS_FIRED.inc(len(rows))


class TimersInDatabase:
    """Gauges read at scrape time: timers waiting, overdue, and the oldest overdue one's delay."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        now = self._engine.clock.now()
        running = Instance.status == "running"
        try:
            with self._engine.reader() as session:
                timed = Instance.next_timer_at.is_not(None)
                waiting = session.scalar(select(func.count()).select_from(Instance).where(running, timed))
                overdue, oldest = session.execute(
                    select(func.count(), func.min(Instance.next_timer_at)).where(
                        running, Instance.next_timer_at < now
                    )
                ).one()
        except Exception as error:
            if not is_unavailable(error):
                raise
            DATABASE_ERRORS.labels("metrics").inc()
            return
        yield GaugeMetricFamily("complaints_timers_waiting", "Running instances waiting on a timer", waiting)
        yield GaugeMetricFamily(
            "complaints_timers_overdue", "Running instances whose timer is due and has not fired", overdue
        )
        yield GaugeMetricFamily(
            "complaints_timers_overdue_oldest_seconds",
            "How long the oldest overdue timer has been due (0 when none is)",
            (now - oldest).total_seconds() if oldest is not None else 0.0,
        )


@bp.get("/metrics")
@public
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return Response("a bearer token is required\n", 401, {"WWW-Authenticate": "Bearer"})
    database = CollectorRegistry(auto_describe=False)
    database.register(TimersInDatabase(current_engine()))
    body = generate_latest(_process_registry()) + generate_latest(database)
    return Response(body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def _process_registry() -> CollectorRegistry:
    """Every process of this node when they share a metrics folder, else this process alone."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def _start_timing() -> None:
    g.request_started = time.perf_counter()


def _observe_request(response: Response) -> Response:
    started = g.pop("request_started", None)
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response
