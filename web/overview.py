"""``GET /``: what is deployed, what is running, which tasks are open, newest first.

It reads the engine's derived tables only (never a workflow), 50 rows per table with
the full counts, so it stays fast however many complaints there are. Each person sees
the complaints and the open tasks web.access lets them see: their groups' and their
own, everything for supervisors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Deployment, HumanTask, Instance
from web import access
from web.engine_access import current_engine

bp = Blueprint("overview", __name__)

LIMIT = 50


@dataclass(frozen=True)
class Listing:
    rows: list[Any]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


@bp.route("/")
def index():
    with current_engine().reader() as session:
        deployments = _deployments(session)
        instances = _instances(session, access.visible_instances(current_user))
        tasks = _open_tasks(session, access.actionable_tasks(current_user))
    return render_template(
        "overview.html", deployments=deployments, instances=instances, tasks=tasks, limit=LIMIT
    )


def _deployments(session: Session) -> Listing:
    rows = session.execute(
        select(
            Deployment.version,
            Deployment.content_hash,
            Deployment.main_process,
            Deployment.deployed_by,
            Deployment.deployed_at,
        )
        .order_by(Deployment.version.desc())
        .limit(LIMIT)
    ).all()
    return Listing(rows, _count(session, select(Deployment.id)))


def _instances(session: Session, visible) -> Listing:
    rows = session.execute(
        select(
            Instance.id,
            Instance.business_key,
            Instance.process_id,
            Deployment.version.label("deployment_version"),
            Instance.status,
            Instance.next_timer_at,
            Instance.created_at,
        )
        .join(Deployment, Deployment.id == Instance.deployment_id)
        .where(visible)
        .order_by(Instance.created_at.desc(), Instance.id.desc())
        .limit(LIMIT)
    ).all()
    return Listing(rows, _count(session, select(Instance.id).where(visible)))


def _open_tasks(session: Session, actionable) -> Listing:
    is_open = (HumanTask.status == "open") & actionable
    rows = session.execute(
        select(
            HumanTask.id,
            HumanTask.name,
            HumanTask.element_id,
            HumanTask.instance_id,
            Instance.business_key,
            HumanTask.candidate_group,
            HumanTask.assignee,
            HumanTask.priority,
            HumanTask.due_at,
            HumanTask.created_at,
        )
        .join(Instance, Instance.id == HumanTask.instance_id)
        .where(is_open)
        .order_by(HumanTask.created_at.desc(), HumanTask.id.desc())
        .limit(LIMIT)
    ).all()
    return Listing(rows, _count(session, select(HumanTask.id).where(is_open)))


def _count(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0
