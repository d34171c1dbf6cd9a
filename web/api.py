"""The JSON API for call-centre systems, under ``/api/v1`` (documented at ``/api/v1/openapi.json``).

A caller authenticates with ``Authorization: Bearer <token>`` (``complaints users
token``) and acts as that token's user, with the same rules as the pages: the engine
refuses a task of another group or one claimed by someone else. Errors are JSON:
``{"error": "...", "fields": {"name": "message"}}`` with the field-level part for
input the procedure refused.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessError
from engine.inbox import InboxFilter, inbox
from web.api_tokens import user_for_token
from web.auth import SessionUser, public
from web.openapi import openapi_document
from web.work import follow_up

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class ApiError(Exception):
    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    body: dict[str, Any] = {"error": error.message}
    if error.fields:
        body["fields"] = error.fields
    return jsonify(body), error.status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return jsonify({"error": error.description or error.name}), error.code


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "send 'Authorization: Bearer <token>' (complaints users token NAME)")
    with _engine().reader() as session:
        user = user_for_token(session, token.strip())
        if user is None:
            raise ApiError(401, "unknown or revoked token")
        g.api_user = SessionUser.of(user)
    return None


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(openapi_document())


@bp.get("/tasks")
@public
def list_tasks():
    user: SessionUser = g.api_user
    group = request.args.get("group") or None
    if group is not None and group not in user.groups:
        raise ApiError(403, f"group: you are not in group {group!r}", {"group": "not one of your groups"})
    wanted = InboxFilter(
        user=user.username,
        groups=user.groups,
        group=group,
        overdue_only=request.args.get("overdue") in ("1", "true"),
        search=request.args.get("q") or None,
    )
    page_number = request.args.get("page", "1")
    if not page_number.isdigit() or int(page_number) < 1:
        raise ApiError(400, "page: a positive whole number", {"page": "a positive whole number"})
    engine = _engine()
    with engine.reader() as session:
        page = inbox(session, wanted, now=engine.clock.now(), page=int(page_number))
    return jsonify(
        {
            "tasks": [_row_json(row) for row in page.rows],
            "page": page.page,
            "pages": page.pages,
            "total": page.total,
        }
    )


@bp.get("/tasks/<task_id>")
@public
def get_task(task_id: str):
    engine = _engine()
    row = _visible_task(task_id)
    instance = engine.instance(row.instance_id)
    schema = engine.runtime(instance.deployment_id).forms.get(row.form or "")
    return jsonify({**_task_json(row, instance.business_key), "form": schema})


@bp.post("/tasks/<task_id>/claim")
@public
def claim_task(task_id: str):
    user: SessionUser = g.api_user
    _visible_task(task_id)
    _run(lambda engine: engine.claim(task_id, actor=user.username, actor_groups=user.groups))
    row = _engine().task(task_id)
    return jsonify(_task_json(row, None))


@bp.post("/tasks/<task_id>/complete")
@public
def complete_task(task_id: str):
    user: SessionUser = g.api_user
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data", {}), dict):
        raise ApiError(400, 'send a JSON object: {"data": {"field": value, ...}}', {"data": "an object"})
    _visible_task(task_id)
    result = _run(
        lambda engine: engine.complete_task(
            task_id, actor=user.username, data=body.get("data", {}), actor_groups=user.groups
        )
    )
    answer = {
        "instance_id": result.instance_id,
        "status": result.status,
        "opened_task_ids": list(result.opened_task_ids),
    }
    problem = follow_up(_engine(), result, user.username)
    if problem:
        answer["warning"] = problem
    return jsonify(answer)


def _run(action):
    try:
        return action(_engine())
    except InvalidInput as refused:
        raise ApiError(422, "the procedure refused these fields", refused.field_errors) from None
    except Forbidden as refused:
        raise ApiError(403, str(refused)) from None
    except NotFound as missing:
        raise ApiError(404, str(missing)) from None
    except Conflict as conflict:
        raise ApiError(409, str(conflict)) from None
    except ProcessError as failed:
        raise ApiError(422, f"the procedure could not continue: {failed}") from None


def _visible_task(task_id: str):
    user: SessionUser = g.api_user
    try:
        row = _engine().task(task_id)
    except NotFound:
        raise ApiError(404, f"no task {task_id}") from None
    visible = row.assignee == user.username if row.assignee else row.candidate_group in user.groups
    if not visible:
        raise ApiError(403, "this task belongs to another group or person")
    return row


def _row_json(row) -> dict[str, Any]:
    return {
        "id": row.task_id,
        "element_id": row.element_id,
        "name": row.name,
        "candidate_group": row.candidate_group,
        "assignee": row.assignee,
        "priority": row.priority,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "created_at": row.created_at.isoformat(),
        "instance_id": row.instance_id,
        "business_key": row.business_key,
    }


def _task_json(row, business_key: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "element_id": row.element_id,
        "name": row.name,
        "candidate_group": row.candidate_group,
        "assignee": row.assignee,
        "status": row.status,
        "priority": row.priority,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "instance_id": row.instance_id,
        "business_key": business_key,
    }


def _engine():
    return current_app.extensions["process_engine"]
