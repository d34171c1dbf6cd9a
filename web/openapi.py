"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    responses = {
        "401": {"description": "No or an unknown token", "content": _json(error)},
        "403": {"description": "Another group's or person's task", "content": _json(error)},
        "404": {"description": "No such task", "content": _json(error)},
    }
    task_id = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Complaints API",
            "version": "1.0.0",
            "description": "Work the customer-complaint procedure from call-centre systems. "
            "Authenticate with a bearer token issued by `complaints users token USERNAME`; "
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
                        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
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
                        "400": {"description": "Bad page number", "content": _json(error)},
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
                    "parameters": [task_id],
                    "responses": {
                        "200": {
                            "description": "Claimed",
                            "content": _json({"$ref": "#/components/schemas/Task"}),
                        },
                        "409": {"description": "Already claimed or no longer open", "content": _json(error)},
                        **responses,
                    },
                }
            },
            "/tasks/{task_id}/complete": {
                "post": {
                    "summary": "Complete a task with the fields of its form",
                    "parameters": [task_id],
                    "requestBody": {
                        "required": True,
                        "content": _json(
                            {
                                "type": "object",
                                "properties": {"data": {"type": "object"}},
                                "required": ["data"],
                            }
                        ),
                    },
                    "responses": {
                        "200": {
                            "description": "Completed",
                            "content": _json({"$ref": "#/components/schemas/Completed"}),
                        },
                        "400": {"description": "Not a JSON object", "content": _json(error)},
                        "409": {"description": "Completed by someone else first", "content": _json(error)},
                        "422": {"description": "Fields refused, each named", "content": _json(error)},
                        **responses,
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
