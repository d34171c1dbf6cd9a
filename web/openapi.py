"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``).

Built from parts: one function per path, the shared parameters and answers once, the
schemas from small helpers, so an endpoint's change is an edit of its own function.
"""

from __future__ import annotations

from typing import Any

from engine.idempotency import MAX_KEY_LENGTH, TTL
from engine.inbox import PAGE_SIZE
from web.bounded_ints import MAX_ID

ERROR = {"$ref": "#/components/schemas/Error"}
DESCRIPTION = (
    "Work the customer-complaint procedure from call-centre systems. "
    "Authenticate with a bearer token issued by `complaints users token USERNAME` or on /admin/users "
    "(it expires, 90 days by default, and can be revoked); "
    "the token acts with that user's groups."
)


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Complaints API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "paths": {
            "/tasks": {"get": _inbox()},
            "/tasks/{task_id}": {"get": _task()},
            "/tasks/{task_id}/claim": {"post": _claim()},
            "/tasks/{task_id}/complete": {"post": _complete()},
            "/complaints": {"post": _record_complaint()},
            "/complaints/{number}": {"get": _complaint()},
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }


# --------------------------------------------------------------------------- paths


def _inbox() -> dict[str, Any]:
    return {
        "summary": "The caller's inbox: their claimed tasks and their groups' unclaimed ones, "
        "urgent first, then by due instant",
        "parameters": [
            _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_ID // PAGE_SIZE}),
            _query("group", {"type": "string"}),
            _query("overdue", {"type": "string", "enum": ["1", "true"]}),
            {**_query("q", {"type": "string"}), "description": "start of a complaint number"},
        ],
        "responses": {
            "200": _answer("One page", _ref("Inbox")),
            "400": _error("Bad page number: `fields` names `page`"),
            **_common_answers(),
        },
    }


def _task() -> dict[str, Any]:
    return {
        "summary": "A task with its form (a JSON Schema)",
        "parameters": [_TASK_ID],
        "responses": {"200": _answer("The task", _ref("TaskWithForm")), **_common_answers()},
    }


def _claim() -> dict[str, Any]:
    return {
        "summary": "Claim a task of one of the caller's groups",
        "description": "Safe to retry: claiming a task the caller holds already answers 200 "
        "and changes nothing. Whoever loses a race for the task gets 409 naming the winner.",
        "parameters": [_TASK_ID],
        "responses": {
            "200": _answer("Claimed (now or before) by the caller", _ref("Task")),
            "409": _error("Claimed by someone else (named), or no longer open"),
            **_common_answers(),
        },
    }


def _complete() -> dict[str, Any]:
    return {
        "summary": "Complete a task with the fields of its form",
        "parameters": [_TASK_ID, _idempotency_key()],
        "requestBody": _DATA_BODY,
        "responses": {
            "200": _answer("Completed (or the first answer to this Idempotency-Key)", _ref("Completed")),
            "400": _error("Not a JSON object, or a malformed Idempotency-Key"),
            "409": _error("Completed by someone else first"),
            "422": _KEY_REUSED,
            **_common_answers(),
        },
    }


def _record_complaint() -> dict[str, Any]:
    common = _common_answers()
    return {
        "summary": "Record a complaint (intake group): start it and complete its intake record "
        "(task_record_complaint) with `data`, the fields of that task's form",
        "description": "One transaction: the complaint is started and recorded together, so "
        "refused input or a failure leaves nothing behind. Send an Idempotency-Key to retry "
        "safely: the same key answers the same complaint. A repeat call linked to a complaint "
        "still in progress (T2) is merged into it: no number, status `merged`, and the running "
        "complaint's department gets a reminder.",
        "parameters": [_idempotency_key()],
        "requestBody": _DATA_BODY,
        "responses": {
            "201": _answer("Recorded (or merged, T2); or the first answer to the key", _ref("Recorded")),
            "400": _error("Not a JSON object, or a malformed Idempotency-Key"),
            "401": common["401"],
            "403": _error("Not in the intake group"),
            "409": _error("Conflict with another command (send it again)"),
            "422": _KEY_REUSED,
            "500": common["500"],
            "503": _error("Nothing deployed"),
        },
    }


def _complaint() -> dict[str, Any]:
    common = _common_answers()
    number = {
        "name": "number",
        "in": "path",
        "required": True,
        "description": "e.g. TS-20261127-0001",
        "schema": {"type": "string"},
    }
    return {
        "summary": "The complaint record: status, stage, flags, deadlines",
        "description": "Visible to whoever started, claimed or completed one of its tasks, "
        "to the groups with one of its tasks open, to the escalation desk if it is escalated, "
        "and to supervisors, process owners and admins: the same rule as the complaint page.",
        "parameters": [number],
        "responses": {
            "200": _answer("The complaint", _ref("Complaint")),
            "401": common["401"],
            "403": _error("Not among those who may see it"),
            "404": _error("No such complaint"),
            "500": common["500"],
        },
    }


# --------------------------------------------------------------------------- shared parts


_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
# {"data": {...}}: the fields of the task's form, for completing a task or recording a complaint
_DATA_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"data": {"type": "object"}}, "required": ["data"]}
        }
    },
}
_KEY_REUSED = {
    "description": "Fields refused, each named; or the Idempotency-Key was used for another "
    "request (`fields` names `Idempotency-Key`)",
    "content": {"application/json": {"schema": ERROR}},
}


def _common_answers() -> dict[str, Any]:
    """What any task endpoint may answer besides its own outcomes."""
    return {
        "401": _error("No token, or one unknown, expired, revoked or of a disabled user"),
        "403": _error("Another group's or person's task"),
        "404": _error("No such task"),
        "500": _error("The server failed; nothing was changed by it"),
    }


def _idempotency_key() -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Any unique string of yours (e.g. a UUID), at most "
        f"{MAX_KEY_LENGTH} printable ASCII characters. Sent again with the same request within "
        f"{int(TTL.total_seconds() // 3600)} h, it gets the first answer (same status and body, header "
        "`Idempotent-Replayed: true`) and nothing is done twice. Scoped to the caller and the endpoint; "
        "the same key with another request is 422. Only done work is remembered: a refused request "
        "can be corrected and sent with the same key.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    }


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _answer(description, ERROR)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# --------------------------------------------------------------------------- schemas


def _schemas() -> dict[str, Any]:
    string, integer, text_or_null = {"type": "string"}, {"type": "integer"}, {"type": ["string", "null"]}
    instant = {"type": ["string", "null"], "format": "date-time"}
    strings = {"type": "array", "items": string}
    return {
        "Error": {
            **_object(error=string, fields={"type": "object", "additionalProperties": string}),
            "required": ["error"],
        },
        "Task": _object(
            id=string,
            element_id=string,
            name=string,
            candidate_group=text_or_null,
            assignee=text_or_null,
            status={"type": "string", "enum": ["open", "completed", "cancelled"]},
            priority=integer,
            due_at=instant,
            instance_id=integer,
            business_key=text_or_null,
        ),
        "TaskWithForm": {"allOf": [_ref("Task"), _object(form={"type": ["object", "null"]})]},
        "Inbox": _object(
            tasks={"type": "array", "items": _ref("Task")}, page=integer, pages=integer, total=integer
        ),
        "Recorded": {
            **_object(
                number={"type": ["string", "null"], "description": "null when merged (T2)"},
                instance_id=integer,
                status={"type": "string", "enum": ["open", "closed", "merged"]},
                stage=string,
                merged_into=text_or_null,
                opened_task_ids=strings,
                warning=string,
            ),
            "required": ["number", "instance_id", "status"],
        },
        "Complaint": _object(
            number=string,
            instance_id=integer,
            status={"type": "string", "enum": ["open", "closed", "error"]},
            stage=string,
            outcome=text_or_null,
            channel=text_or_null,
            business_category=text_or_null,
            nature_category=text_or_null,
            flags=strings,
            priority=string,
            repeat_of=text_or_null,
            batch_tag=text_or_null,
            customer_name=text_or_null,
            customer_phone=text_or_null,
            customer_account=text_or_null,
            accepted_at=instant,
            first_reply_at=instant,
            closed_at=instant,
            reminders=integer,
            deadlines={
                "type": "object",
                "description": "per clock (L1, L2, L4, R4, L6, ...): due, done_at, met, late_by_s, breached",
            },
        ),
        "Completed": _object(instance_id=integer, status=string, opened_task_ids=strings),
    }


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}
