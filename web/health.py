"""``GET /health``: is this node able to serve? For load balancers and monitoring, no login.

It answers 200 when the database answers, else 503 (so a balancer takes the node out),
and says which version is deployed, whether this node runs the timer scheduler and when
the next timer falls due. It reveals nothing about complaints.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from engine.models import Deployment, Instance
from web.auth import public

bp = Blueprint("health", __name__)


@bp.route("/health")
@public
def health():
    app = current_app
    body = {
        "status": "ok",
        "database": "ok",
        "deployed_version": None,
        "scheduler": "running" if "timer_scheduler" in app.extensions else "off",
        "next_timer_at": None,
    }
    status = 200
    try:
        with app.extensions["process_engine"].reader() as session:
            body["deployed_version"] = session.scalar(select(func.max(Deployment.version)))
            next_timer = session.scalar(
                select(func.min(Instance.next_timer_at)).where(Instance.status == "running")
            )
    except SQLAlchemyError as error:
        app.logger.error("health: database check failed: %s", error)
        body.update(status="error", database="error")
        status = 503
    else:
        body["next_timer_at"] = next_timer.isoformat() if next_timer is not None else None
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
