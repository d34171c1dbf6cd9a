"""Discarding a complaint started by mistake ("New complaint" clicked once too often).

Who and when: the person who started it, while its record task (A1,
``task_record_complaint``) is untouched: still the only open task, never completed,
claimed by nobody else, and no draft of it saved (drafts are kept by the web layer,
which passes ``has_draft``). A website complaint is started by the customer, not by a
person of the branch: it is never discarded this way (A5: it is verified or closed).

Numbers (C4): a complaint started from the inbox gets its number only when the record
task is completed (``svc_register_complaint`` follows ``task_record_complaint``), so a
discardable complaint never holds one and no number is lost: the day's sequence stays
gap-free. The audit event says so (``number``: none), and, should a number ever have
been reserved (``reserved_complaint_no`` in the start data), names it as the gap it
leaves: numbers are never given out twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from engine import cancel
from engine.errors import Conflict, NotFound
from engine.models import AuditEvent, Instance
from tasks import records

HasDraft = Callable[[Connection, str], bool]


def refusal(engine: Any, instance_id: int, actor: str, has_draft: HasDraft | None = None) -> str | None:
    """Why ``actor`` may not discard the complaint now (in English, for logs and tests), or None."""
    with engine.reader() as session:
        instance = session.get(Instance, instance_id)
        if instance is None:
            return "no such complaint"
        open_tasks = [row for row in engine.open_tasks(instance_id)]
        record_task = _record_task(engine, instance)
        return _why_not(session.connection(), instance, open_tasks, actor, has_draft, record_task)


def discard(engine: Any, instance_id: int, *, actor: str, reason: str, has_draft: HasDraft) -> None:
    """Discard the complaint (engine.cancel), audited with the reason and what became of its number."""

    def check(connection: Connection, instance: Any, open_tasks: list) -> None:
        row = connection.execute(select(Instance).where(Instance.id == instance.id)).first()
        if row is None:
            raise NotFound(f"no complaint {instance.id}")
        why = _why_not(connection, row, open_tasks, actor, has_draft, _record_task(engine, row))
        if why is not None:
            raise Conflict(why)

    reserved = _reserved_number(engine, instance_id)
    detail = {
        "reason": reason.strip()[:500],
        "rule": "A1 record task untouched; C4 numbers are never reused",
        "number": reserved,
        "number_note": (
            f"number {reserved} was reserved and is not given again: "
            "the gap in the day's sequence is this discard"
            if reserved
            else "no number was given: numbering (svc_register_complaint) follows the record task"
        ),
    }
    cancel.cancel_instance(engine, instance_id, actor=actor, detail=detail, check=check)


def _record_task(engine: Any, instance: Any) -> str | None:
    """A1: the version's record task (its ``stage`` property is ``intake``)."""
    return records.intake_element(engine.runtime(instance.deployment_id).element_properties)


def _why_not(
    connection: Any,
    instance: Any,
    open_tasks: list,
    actor: str,
    has_draft: HasDraft | None,
    record_task: str | None,
) -> str | None:
    if instance.status != "running":
        return f"the complaint is {instance.status}"
    if instance.started_by != actor:
        return "only the person who started it may discard it"
    if records.complaint_of_instance(connection, instance.id) is not None:
        return "the complaint is numbered already"
    if record_task is None or [task.element_id for task in open_tasks] != [record_task]:
        return "the complaint has moved on from its record task"
    task = open_tasks[0]
    if task.assignee not in (None, actor):
        return f"the record task is claimed by {task.assignee}"
    if _completed_any(connection, instance.id):
        return "a task of the complaint was completed already"
    if has_draft is not None and has_draft(connection, task.id):
        return "a draft of the record was saved"
    return None


def _completed_any(connection: Any, instance_id: int) -> bool:
    query = select(AuditEvent.id).where(
        AuditEvent.instance_id == instance_id, AuditEvent.command == "complete"
    )
    return connection.execute(query.limit(1)).first() is not None


def _reserved_number(engine: Any, instance_id: int) -> str | None:
    with engine.reader() as session:
        detail = session.scalar(
            select(AuditEvent.detail)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.command == "start")
            .limit(1)
        )
    data = (json.loads(detail) if detail else {}).get("data") or {}
    return data.get("reserved_complaint_no") or None
