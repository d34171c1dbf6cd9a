"""The JSON API for call-centre systems, under ``/api/v1`` (documented at ``/api/v1/openapi.json``).

A caller authenticates with ``Authorization: Bearer <token>`` (``complaints users
token``) and acts as that token's user, with the same rules as the pages: the engine
refuses a task of another group or one claimed by someone else. Errors are JSON:
``{"error": "...", "fields": {"name": "message"}}`` with the field-level part for
input the procedure refused.

Commands that create (``POST /complaints``, ``POST /tasks/{id}/complete``) honour an
``Idempotency-Key`` header (engine.idempotency): the answer is remembered in the
command's transaction, so a client that lost it sends the request again and gets the
same answer, never a second complaint.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from engine import idempotency
from engine.deployments import latest_deployment
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessError
from engine.idempotency import Answer, KeyedRequest, KeyInUse, KeyReused
from engine.inbox import PAGE_SIZE, InboxFilter, inbox
from engine.service import FirstTask, Outcome
from tasks import records
from web import access, api_tokens
from web.auth import SessionUser, public
from web.bounded_ints import MAX_ID, BadNumber, query_int
from web.engine_access import current_engine
from web.i18n import said
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
        body["fields"] = said(error.fields)  # by Accept-Language, as the pages
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
    engine = current_engine()
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
    if not access.may_list_group(user, group):
        raise ApiError(403, f"group: you are not in group {group!r}", {"group": "not one of your groups"})
    wanted = InboxFilter(
        user=user.username,
        groups=user.groups,
        group=group,
        overdue_only=request.args.get("overdue") in ("1", "true"),
        search=request.args.get("q") or None,
    )
    page_number = query_int(request.args, "page", 1, maximum=MAX_ID // PAGE_SIZE)
    engine = current_engine()
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
    engine = current_engine()
    row = _visible_task(task_id)
    instance = engine.instance(row.instance_id)
    schema = engine.runtime(instance.deployment_id).forms.get(row.form or "")
    return jsonify({**_task_json(row, instance.business_key), "form": schema})


@bp.post("/tasks/<task_id>/claim")
@public
def claim_task(task_id: str):
    """Claim for the caller: 200 if they hold it (again), 409 naming whoever else does.

    No visibility check before the command: a task claimed a moment ago by someone else
    is no longer "visible" to the caller, which would turn the lost race into a 403.
    The engine decides on the newest state, refusing another group's task (403).
    """
    user: SessionUser = g.api_user
    _run(lambda engine: engine.claim(task_id, actor=user.username, actor_groups=access.acting_groups(user)))
    row = current_engine().task(task_id)
    return jsonify(_task_json(row, None))


@bp.post("/tasks/<task_id>/complete")
@public
def complete_task(task_id: str):
    user: SessionUser = g.api_user
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data", {}), dict):
        raise ApiError(400, 'send a JSON object: {"data": {"field": value, ...}}', {"data": "an object"})
    data = body.get("data", {})
    keyed = _keyed_request("POST /tasks/{task_id}/complete", task_id, data)
    if (replay := _replayed(keyed)) is not None:
        return replay
    _visible_task(task_id)
    answered: list[Answer] = []

    def record(outcome: Outcome) -> None:
        result = outcome.result
        answer = {
            "instance_id": result.instance_id,
            "status": result.status,
            "opened_task_ids": list(result.opened_task_ids),
        }
        _remember(outcome, keyed, Answer(200, answer), answered)

    result = _keyed_run(
        keyed,
        lambda engine: engine.complete_task(
            task_id, actor=user.username, data=data, actor_groups=access.acting_groups(user), record=record
        ),
    )
    if isinstance(result, Response):
        return result
    return _answer_with_follow_up(keyed, answered[0], result, user.username)


def _intake_element(engine) -> str:
    """A1: the newest version's record task (``stage = intake``); a version without one is a
    deployment error, said in words."""
    with engine.reader() as session:
        deployment = latest_deployment(session)
    if deployment is None:
        return ""  # engine.start answers that nothing is deployed
    element = records.intake_element(engine.runtime(deployment.id).element_properties)
    if element is None:
        raise ApiError(409, "the deployed procedure has no user task with the property stage = intake")
    return element


@bp.post("/complaints")
@public
def create_complaint():
    """Intake from a call-centre system: start a complaint and record it (A1: the record task,
    the user task whose ``stage`` property is ``intake`` in the newest version).

    One engine command: the start, the intake record (the form's schema, then its
    validator), the complaint's row and the idempotency key commit together, so refused
    input or a failure on the way leaves nothing behind. A T2 call (``repeat_of`` an
    open complaint) ends merged into that complaint, whose reminder is written in the same
    command and delivered after its commit (tasks.repeats, the engine's outbox).
    """
    user: SessionUser = g.api_user
    if not access.may_record_in_one_call(user):
        raise ApiError(403, f"only the {access.INTAKE_GROUP!r} group records complaints")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ApiError(400, 'send a JSON object: {"data": {"field": value, ...}}', {"data": "an object"})
    data = body["data"]
    keyed = _keyed_request("POST /complaints", data)
    if (replay := _replayed(keyed)) is not None:
        return replay
    answered: list[Answer] = []

    def record(outcome: Outcome) -> None:
        _remember(outcome, keyed, Answer(201, _recorded(outcome)), answered)

    result = _keyed_run(
        keyed,
        lambda engine: engine.start(
            actor=user.username,
            first_task=FirstTask(_intake_element(engine), data, access.acting_groups(user)),
            record=record,
        ),
        nothing_deployed=True,
    )
    if isinstance(result, Response):
        return result
    return _answer_with_follow_up(keyed, answered[0], result, user.username)


def _recorded(outcome: Outcome) -> dict[str, Any]:
    """The answer to a recorded complaint, read inside the command's transaction."""
    result = outcome.result
    complaint = records.complaint_of_instance(outcome.connection, result.instance_id)
    if complaint is not None:
        answer = {"number": complaint.number, "status": complaint.status, "stage": complaint.stage}
    else:  # T2: merged into the running complaint, no number of its own
        closure = outcome.data().get("closure") or {}
        answer = {"number": None, "status": "merged", "merged_into": closure.get("merged_into")}
    answer.update(instance_id=result.instance_id, opened_task_ids=list(result.opened_task_ids))
    return answer


# ---------------------------------------------------------------------- idempotency keys

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _keyed_request(endpoint: str, *target: Any) -> KeyedRequest | None:
    """The caller's ``Idempotency-Key`` for this endpoint and target (path and body), if sent."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > idempotency.MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        problem = f"1 to {idempotency.MAX_KEY_LENGTH} printable ASCII characters (e.g. a UUID)"
        raise ApiError(400, f"{IDEMPOTENCY_HEADER}: {problem}", {IDEMPOTENCY_HEADER: problem})
    user: SessionUser = g.api_user
    return KeyedRequest(user.username, endpoint, key, idempotency.fingerprint(*target))


def _replayed(keyed: KeyedRequest | None) -> Response | None:
    """The remembered answer to this key, replayed; 422 if the key came with another request."""
    if keyed is None:
        return None
    engine = current_engine()
    with engine.reader() as session:
        try:
            answer = idempotency.find(session.connection(), keyed, now=engine.clock.now())
        except KeyReused as reused:
            raise ApiError(
                422, f"{IDEMPOTENCY_HEADER}: {reused}", {IDEMPOTENCY_HEADER: str(reused)}
            ) from None
    if answer is None:
        return None
    response = jsonify(answer.body)
    response.status_code = answer.status
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _remember(outcome: Outcome, keyed: KeyedRequest | None, answer: Answer, answered: list[Answer]) -> None:
    """A command's ``record`` hook: keep the answer, and under the key in the same transaction."""
    answered.clear()  # a command retried after a lost race answers anew
    answered.append(answer)
    if keyed is not None:
        idempotency.remember(outcome.connection, keyed, answer, now=current_engine().clock.now())


def _keyed_run(keyed: KeyedRequest | None, action, *, nothing_deployed: bool = False):
    """Run the command; if a concurrent request with the same key won, replay its answer."""
    try:
        return _run(action, nothing_deployed=nothing_deployed)
    except KeyInUse as taken:
        replay = _replayed(keyed)
        if replay is None:
            raise ApiError(409, str(taken)) from None
        return replay


def _answer_with_follow_up(keyed: KeyedRequest | None, answer: Answer, result, actor: str):
    """What became of the command's follow-ups (a T2 reminder that cannot arrive) becomes a warning."""
    problem = follow_up(current_engine(), result, actor)
    if problem:
        answer = Answer(answer.status, {**answer.body, "warning": problem})
        if keyed is not None:  # the replay tells the same
            with current_engine().writer() as session, session.begin():
                idempotency.amend(session.connection(), keyed, answer)
    return jsonify(answer.body), answer.status


@bp.get("/complaints/<number>")
@public
def get_complaint(number: str):
    """The complaint record (status, stage, flags, deadlines), for whom web.access shows it."""
    user: SessionUser = g.api_user
    engine = current_engine()
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


def _run(action, *, nothing_deployed: bool = False):
    try:
        return action(current_engine())
    except KeyInUse:
        raise
    except NotFound as missing:
        if nothing_deployed:  # a start finds no version to start on
            raise ApiError(503, "no version of the procedure is deployed") from None
        raise ApiError(404, str(missing)) from None
    except InvalidInput as refused:
        raise ApiError(422, "the procedure refused these fields", refused.field_errors) from None
    except Forbidden as refused:
        raise ApiError(403, str(refused)) from None
    except Conflict as conflict:
        raise ApiError(409, str(conflict)) from None
    except ProcessError as failed:
        raise ApiError(422, f"the procedure could not continue: {failed}") from None


def _visible_task(task_id: str):
    user: SessionUser = g.api_user
    engine = current_engine()
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
