"""T2: delivering the reminder (催办) of a repeat call to the complaint still in progress.

The intake of a repeat call whose earlier complaint is still open ends at once as
``merged_into`` that complaint (no new work order, no number): ``svc_merge_into`` writes
``closure = {"outcome": "merged_into", "merged_into": <number>, "merged_into_instance": <id>}``.
A service operation cannot send the message itself (it runs inside the new instance's
command; a message to another instance is another command, with its own lock and
transaction), so the caller that completed the intake task, i.e. the web layer, calls
:func:`deliver_reminder` right after that command committed. The running complaint's
event subprocess (``sub_reminder`` on the map, ``bpmn/complaint.bpmn``) counts the reminder on its
record and gives its department a reminder task, however many times the customer calls.

Why this shape rather than checking before any instance starts: the call is still a
contact someone received (A1): the intake record, who took it and when stay in the audit
log and in the merged instance's data, and the T2 decision is enforced by the intake
validator and the diagram, not by a web form alone.
"""

from __future__ import annotations

from typing import Any

REMINDER_MESSAGE = "reminder"


def pending_reminder(data: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """The (target instance, payload) a merged intake still has to deliver, else None."""
    closure = data.get("closure") or {}
    if closure.get("outcome") != "merged_into" or not closure.get("merged_into_instance"):
        return None
    payload = {
        "from_instance": data.get("intake_instance"),
        "note": data.get("description"),
        "customer_phone": data.get("customer_phone"),
        "merged_into": closure.get("merged_into"),
    }
    return int(closure["merged_into_instance"]), payload


def deliver_reminder(engine: Any, instance_id: int, *, actor: str) -> int | None:
    """Send the reminder of the merged intake ``instance_id``; returns the target instance.

    ``engine`` is the ``engine.service.ProcessEngine``. Returns None when the intake was not
    a T2 merge. If the running complaint closed in between, the engine answers
    ``engine.errors.Conflict`` (the agent then records a T3 complaint instead). The payload
    names the running complaint's department group (``department_group``), read just before
    sending: the reminder task is offered to that department, or to the centre while the
    complaint is not dispatched yet.
    """
    pending = pending_reminder(engine.instance_data(instance_id))
    if pending is None:
        return None
    target, payload = pending
    payload["from_instance"] = instance_id
    # The event subprocess sees only the message, so it carries the group to remind.
    payload["department_group"] = engine.instance_data(target).get("department_group") or ""
    engine.send_message(target, REMINDER_MESSAGE, actor=actor, payload=payload)
    return target
