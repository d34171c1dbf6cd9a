"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from engine.idempotency import MAX_KEY_LENGTH, TTL
from engine.inbox import PAGE_SIZE
from web.bounded_ints import MAX_ID


def openapi_document() -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    responses = {
        "401": {
            "description": "No token, or one unknown, expired, revoked or of a disabled user",
            "content": _json(error),
        },
        "403": {"description": "Another group's or person's task", "content": _json(error)},
        "404": {"description": "No such task", "content": _json(error)},
        "500": {"description": "The server failed; nothing was changed by it", "content": _json(error)},
    }
    # {"data": {...}}: the fields of the task's form, for completing a task or recording a complaint
    data_body = {
        "required": True,
        "content": _json(
            {"type": "object", "properties": {"data": {"type": "object"}}, "required": ["data"]}
        ),
    }
    task_id = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
    idempotency_key = {
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
    key_reused = {
        "description": "Fields refused, each named; or the Idempotency-Key was used for another "
        "request (`fields` names `Idempotency-Key`)",
        "content": _json(error),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Complaints API",
            "version": "1.0.0",
            "description": "Work the customer-complaint procedure from call-centre systems. "
            "Authenticate with a bearer token issued by `complaints users token USERNAME` or on /admin/users "
            "(it expires, 90 days by default, and can be revoked); "
            "the token acts with that user's groups.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"token": []}],
        "paths": {
            "/tasks": {
                "get": {
                    "summary": "The caller's inbox: their claimed tasks and their groups' unclaimed ones, "
                    "urgent first, then by due instant",
                    "parameters": [
                        {
                            "name": "page",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID // PAGE_SIZE},
                        },
                        {"name": "group", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "overdue",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["1", "true"]},
                        },
                        {
                            "name": "q",
                            "in": "query",
                            "description": "start of a complaint number",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "One page",
                            "content": _json({"$ref": "#/components/schemas/Inbox"}),
                        },
                        "400": {
                            "description": "Bad page number: `fields` names `page`",
                            "content": _json(error),
                        },
                        **responses,
                    },
                }
            },
            "/tasks/{task_id}": {
                "get": {
                    "summary": "A task with its form (a JSON Schema)",
                    "parameters": [task_id],
                    "responses": {
                        "200": {
                            "description": "The task",
                            "content": _json({"$ref": "#/components/schemas/TaskWithForm"}),
                        },
                        **responses,
                    },
                }
            },
            "/tasks/{task_id}/claim": {
                "post": {
                    "summary": "Claim a task of one of the caller's groups",
                    "description": "Safe to retry: claiming a task the caller holds already answers 200 "
                    "and changes nothing. Whoever loses a race for the task gets 409 naming the winner.",
                    "parameters": [task_id],
                    "responses": {
                        "200": {
                            "description": "Claimed (now or before) by the caller",
                            "content": _json({"$ref": "#/components/schemas/Task"}),
                        },
                        "409": {
                            "description": "Claimed by someone else (named), or no longer open",
                            "content": _json(error),
                        },
                        **responses,
                    },
                }
            },
            "/tasks/{task_id}/complete": {
                "post": {
                    "summary": "Complete a task with the fields of its form",
                    "parameters": [task_id, idempotency_key],
                    "requestBody": data_body,
                    "responses": {
                        "200": {
                            "description": "Completed (or the first answer to this Idempotency-Key)",
                            "content": _json({"$ref": "#/components/schemas/Completed"}),
                        },
                        "400": {
                            "description": "Not a JSON object, or a malformed Idempotency-Key",
                            "content": _json(error),
                        },
                        "409": {"description": "Completed by someone else first", "content": _json(error)},
                        "422": key_reused,
                        **responses,
                    },
                }
            },
            "/complaints": {
                "post": {
                    "summary": "Record a complaint (intake group): start it and complete its intake record "
                    "(task_record_complaint) with `data`, the fields of that task's form",
                    "description": "One transaction: the complaint is started and recorded together, so "
                    "refused input or a failure leaves nothing behind. Send an Idempotency-Key to retry "
                    "safely: the same key answers the same complaint. A repeat call linked to a complaint "
                    "still in progress (T2) is merged into it: no number, status `merged`, and the running "
                    "complaint's department gets a reminder.",
                    "parameters": [idempotency_key],
                    "requestBody": data_body,
                    "responses": {
                        "201": {
                            "description": "Recorded (or merged, T2); or the first answer to the key",
                            "content": _json({"$ref": "#/components/schemas/Recorded"}),
                        },
                        "400": {
                            "description": "Not a JSON object, or a malformed Idempotency-Key",
                            "content": _json(error),
                        },
                        "401": responses["401"],
                        "403": {"description": "Not in the intake group", "content": _json(error)},
                        "409": {
                            "description": "Conflict with another command (send it again)",
                            "content": _json(error),
                        },
                        "422": key_reused,
                        "500": responses["500"],
                        "503": {"description": "Nothing deployed", "content": _json(error)},
                    },
                }
            },
            "/complaints/{number}": {
                "get": {
                    "summary": "The complaint record: status, stage, flags, deadlines",
                    "description": "Visible to whoever started, claimed or completed one of its tasks, "
                    "to the groups with one of its tasks open, to the escalation desk if it is escalated, "
                    "and to supervisors, process owners and admins: the same rule as the complaint page.",
                    "parameters": [
                        {
                            "name": "number",
                            "in": "path",
                            "required": True,
                            "description": "e.g. TS-20261127-0001",
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The complaint",
                            "content": _json({"$ref": "#/components/schemas/Complaint"}),
                        },
                        "401": responses["401"],
                        "403": {"description": "Not among those who may see it", "content": _json(error)},
                        "404": {"description": "No such complaint", "content": _json(error)},
                        "500": responses["500"],
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "Task": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "element_id": {"type": "string"},
                        "name": {"type": "string"},
                        "candidate_group": {"type": ["string", "null"]},
                        "assignee": {"type": ["string", "null"]},
                        "status": {"type": "string", "enum": ["open", "completed", "cancelled"]},
                        "priority": {"type": "integer"},
                        "due_at": {"type": ["string", "null"], "format": "date-time"},
                        "instance_id": {"type": "integer"},
                        "business_key": {"type": ["string", "null"]},
                    },
                },
                "TaskWithForm": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Task"},
                        {"type": "object", "properties": {"form": {"type": ["object", "null"]}}},
                    ]
                },
                "Inbox": {
                    "type": "object",
                    "properties": {
                        "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                        "page": {"type": "integer"},
                        "pages": {"type": "integer"},
                        "total": {"type": "integer"},
                    },
                },
                "Recorded": {
                    "type": "object",
                    "required": ["number", "instance_id", "status"],
                    "properties": {
                        "number": {"type": ["string", "null"], "description": "null when merged (T2)"},
                        "instance_id": {"type": "integer"},
                        "status": {"type": "string", "enum": ["open", "closed", "merged"]},
                        "stage": {"type": "string"},
                        "merged_into": {"type": ["string", "null"]},
                        "opened_task_ids": {"type": "array", "items": {"type": "string"}},
                        "warning": {"type": "string"},
                    },
                },
                "Complaint": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "string"},
                        "instance_id": {"type": "integer"},
                        "status": {"type": "string", "enum": ["open", "closed", "error"]},
                        "stage": {"type": "string"},
                        "outcome": {"type": ["string", "null"]},
                        "channel": {"type": ["string", "null"]},
                        "business_category": {"type": ["string", "null"]},
                        "nature_category": {"type": ["string", "null"]},
                        "flags": {"type": "array", "items": {"type": "string"}},
                        "priority": {"type": "string"},
                        "repeat_of": {"type": ["string", "null"]},
                        "batch_tag": {"type": ["string", "null"]},
                        "customer_name": {"type": ["string", "null"]},
                        "customer_phone": {"type": ["string", "null"]},
                        "customer_account": {"type": ["string", "null"]},
                        "accepted_at": {"type": ["string", "null"], "format": "date-time"},
                        "first_reply_at": {"type": ["string", "null"], "format": "date-time"},
                        "closed_at": {"type": ["string", "null"], "format": "date-time"},
                        "reminders": {"type": "integer"},
                        "deadlines": {
                            "type": "object",
                            "description": "per clock (L1, L2, L4, R4, L6, ...): due, done_at, met, "
                            "late_by_s, breached",
                        },
                    },
                },
                "Completed": {
                    "type": "object",
                    "properties": {
                        "instance_id": {"type": "integer"},
                        "status": {"type": "string"},
                        "opened_task_ids": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
