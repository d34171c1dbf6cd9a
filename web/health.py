"""``GET /health`` (liveness) and ``GET /health/ready`` (readiness), for balancers and monitoring; no login.

``/health`` answers 200 whenever this process answers, even while the database is away
(restarting a node would not bring the database back): its body says whether the
database answers, which version is deployed, whether this node's scheduler runs, when
the next timer falls due and how many timers are overdue, which after a restart is the
backlog the scheduler is still firing in the background.

``/health/ready`` answers 200 when this node can serve requests (the database answers),
else 503 with ``Retry-After``: the check a load balancer uses to take a node out.

Neither reveals anything about complaints.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select

from engine.database_outage import UNAVAILABLE
from engine.models import Deployment, Instance
from web.auth import public
from web.engine_access import current_engine

bp = Blueprint("health", __name__)


@bp.route("/health")
@public
def health():
    body = {
        "status": "ok",
        "database": "ok",
        "deployed_version": None,
        "scheduler": _scheduler_state(),
        "next_timer_at": None,
        "overdue_timers": None,
    }
    try:
        body.update(_database_facts())
    except UNAVAILABLE as error:
        _database_failed(error)
        body.update(database="error")
    return _answer(body, 200)


@bp.route("/health/ready")
@public
def ready():
    try:
        with current_engine().reader() as session:
            session.scalar(select(func.max(Deployment.version)))
    except UNAVAILABLE as error:
        _database_failed(error)
        response = _answer({"status": "unavailable", "database": "error"}, 503)
        response.headers["Retry-After"] = "10"
        return response
    current_app.extensions["database_outage"].recovered()
    return _answer({"status": "ready", "database": "ok"}, 200)


def _database_facts() -> dict[str, object]:
    engine = current_engine()
    running = Instance.status == "running"
    with engine.reader() as session:
        version = session.scalar(select(func.max(Deployment.version)))
        next_timer = session.scalar(select(func.min(Instance.next_timer_at)).where(running))
        due = Instance.next_timer_at < engine.clock.now()
        overdue = session.scalar(select(func.count()).select_from(Instance).where(running, due))
    current_app.extensions["database_outage"].recovered()
    return {
        "deployed_version": version,
        "next_timer_at": next_timer.isoformat() if next_timer is not None else None,
        "overdue_timers": overdue,
    }


def _scheduler_state() -> str:
    """This process's scheduler (``--dev``, tests), else the node's scheduler process (``web.server``)."""
    if "node_scheduler" in current_app.extensions:
        return "running"
    from web.server import scheduler_state

    return scheduler_state()


def _database_failed(error: Exception) -> None:
    from web.metrics import DATABASE_ERRORS

    DATABASE_ERRORS.labels("health").inc()
    current_app.extensions["database_outage"].failed(error)


def _answer(body: dict[str, object], status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
