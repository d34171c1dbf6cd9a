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
from engine.handlers import TaskInput
from engine.inbox import PAGE_SIZE, InboxFilter, inbox
from engine.store import Store
from tasks import records
from tasks.validators import complaint_record
from web import access, api_tokens
from web.auth import SessionUser, public
from web.bounded_ints import MAX_ID, BadNumber, query_int
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


@bp.errorhandler(BadNumber)
def _bad_number(error: BadNumber):
    return jsonify({"error": error.description, "fields": {error.field: error.problem}}), 400


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
    engine = _engine()
    now = engine.clock.now()
    with engine.reader() as session:
        found = api_tokens.check_token(session, token.strip(), now=now)
        if found.user is None:
            raise ApiError(401, TOKEN_REFUSALS[found.refusal or "unknown"])
        g.api_user = SessionUser.of(found.user)
    if found.use_to_record(now):  # at most one write a minute per token
        with engine.writer() as session, session.begin():
            api_tokens.record_use(session, found.token.id, now=now)
    return None


TOKEN_REFUSALS = {
    "unknown": "unknown token",
    "revoked": "this token was revoked: ask an administrator for a new one",
    "expired": "this token has expired: ask an administrator for a new one",
    "inactive": "this token's user is disabled",
}


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
    page_number = query_int(request.args, "page", 1, maximum=MAX_ID // PAGE_SIZE)
    engine = _engine()
    with engine.reader() as session:
        page = inbox(session, wanted, now=engine.clock.now(), page=page_number)
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


INTAKE_GROUP = "intake"
INTAKE_ELEMENT = "task_record_complaint"
INTAKE_FORM = "record_complaint.json"


@bp.post("/complaints")
@public
def create_complaint():
    """Intake from a call-centre system: start a complaint and record it (``task_record_complaint``).

    The fields are checked (the intake form's schema, then its validator) before anything
    is started, so refused input leaves no half-recorded complaint in the intake inbox;
    the engine checks them again when it completes the task. A T2 call (``repeat_of`` an
    open complaint) ends merged into that complaint, which gets its reminder here too.
    """
    user: SessionUser = g.api_user
    if INTAKE_GROUP not in user.groups:
        raise ApiError(403, f"only the {INTAKE_GROUP!r} group records complaints")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ApiError(400, 'send a JSON object: {"data": {"field": value, ...}}', {"data": "an object"})
    data = body["data"]
    engine = _engine()
    with engine.reader.kw["bind"].connect() as connection:
        deployment = Store(connection).deployment(None)
        if deployment is None:
            raise ApiError(503, "no version of the procedure is deployed")
        runtime = engine.runtime(deployment.id)
        errors = runtime.form_checker(INTAKE_FORM).errors(data) or complaint_record(
            TaskInput(
                element_id=INTAKE_ELEMENT,
                submitted=data,
                task_data={},
                now=engine.clock.now(),
                config=runtime.config,
                actor=user.username,
                connection=connection,
            )
        )
    if errors:
        raise ApiError(422, "the procedure refused these fields", errors)
    started = _run(lambda engine: engine.start(actor=user.username, version=deployment.version))
    intake = next(
        (task for task in engine.open_tasks(started.instance_id) if task.element_id == INTAKE_ELEMENT), None
    )
    if intake is None:
        raise ApiError(500, f"instance {started.instance_id} opened no {INTAKE_ELEMENT}")
    try:
        result = _run(
            lambda engine: engine.complete_task(
                intake.id, actor=user.username, data=data, actor_groups=user.groups
            )
        )
    except ApiError as refused:  # something changed between the check and the command
        refused.message += f"; the complaint was started: correct its intake task /tasks/{intake.id}"
        raise
    problem = follow_up(engine, result, user.username)
    with engine.reader() as session:
        complaint = records.complaint_of_instance(session, result.instance_id)
    if complaint is not None:
        answer = {"number": complaint.number, "status": complaint.status, "stage": complaint.stage}
    else:  # T2: merged into the running complaint, no number of its own
        closure = engine.instance_data(result.instance_id).get("closure") or {}
        answer = {"number": None, "status": "merged", "merged_into": closure.get("merged_into")}
    answer.update(instance_id=result.instance_id, opened_task_ids=list(result.opened_task_ids))
    if problem:
        answer["warning"] = problem
    return jsonify(answer), 201


@bp.get("/complaints/<number>")
@public
def get_complaint(number: str):
    """The complaint record (status, stage, flags, deadlines), for whom web.access shows it."""
    user: SessionUser = g.api_user
    engine = _engine()
    with engine.reader() as session:
        complaint = records.find_by_number(session, number)
        if complaint is None:
            raise ApiError(404, f"no complaint {number}")
        if not access.may_see_complaint(session, user, complaint.instance_id):
            raise ApiError(403, "only those working on this complaint and supervisors see it")
        return jsonify(_complaint_json(complaint))


def _complaint_json(complaint) -> dict[str, Any]:
    def instant(value):
        return value.isoformat() if value else None

    return {
        "number": complaint.number,
        "instance_id": complaint.instance_id,
        "status": complaint.status,
        "stage": complaint.stage,
        "outcome": complaint.outcome,
        "channel": complaint.channel,
        "business_category": complaint.business_category,
        "nature_category": complaint.nature_category,
        "flags": complaint.flags,
        "priority": complaint.priority,
        "repeat_of": complaint.repeat_of,
        "batch_tag": complaint.batch_tag,
        "customer_name": complaint.customer_name,
        "customer_phone": complaint.customer_phone,
        "customer_account": complaint.customer_account,
        "accepted_at": instant(complaint.accepted_at),
        "first_reply_at": instant(complaint.first_reply_at),
        "closed_at": instant(complaint.closed_at),
        "reminders": complaint.reminders,
        "deadlines": complaint.deadline_outcomes,
    }


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
    engine = _engine()
    try:
        row = engine.task(task_id)
    except NotFound:
        raise ApiError(404, f"no task {task_id}") from None
    with engine.reader() as session:
        if not access.may_see_task(session, user, task_id):
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
