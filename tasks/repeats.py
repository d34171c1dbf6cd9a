"""T2: the reminder (催办) of a repeat call, through the dispatching side, in the command's transaction.

The original (issue 11 item 5): the agent calms the customer, tells the progress, and informs
the dispatching side (派单部门), which sends the reminder to the handling department. The
intake of a repeat call whose earlier complaint is still open ends at once as ``merged_into``
that complaint (no new work order, no number): ``svc_merge_into`` writes
``closure = {"outcome": "merged_into", "merged_into": <number>, "merged_into_instance": <id>}``.

Then ``svc_tell_dispatching`` (first_contact.bpmn, operation ``tell_dispatching_side``) is the
agent informing the dispatching side: it writes an outbox row (``engine.outbox``) in the
intake command's own transaction, so the call's merge and its reminder commit together and
a crash after the commit cannot lose the reminder. After the commit the engine delivers the
row (:func:`deliver_reminder_row`): the ``reminder`` message to the running complaint, whose
event subprocess ``sub_reminder`` (complaint.bpmn) records it (the centre, which dispatched,
is informed on the record and the case file) and gives the department the reminder task
(before dispatch: the centre itself). The message and the row's "delivered" mark commit in
one transaction, so the reminder arrives once, whoever delivers it (a web process right after
the intake, or the scheduler after a restart).

Why the call still starts an instance: it is a contact someone received (A1): the intake
record, who took it and when stay in the audit log and in the merged instance's data, and
the T2 decision is enforced by the intake validator and the diagram, not by a web form alone.
"""

from __future__ import annotations

from typing import Any

from engine import outbox
from engine.errors import Conflict
from engine.handlers import HandlerRegistry, ServiceCall
from engine.outbox import OutboxItem, Undeliverable

HANDLERS = HandlerRegistry()

REMINDER_MESSAGE = "reminder"
REMINDER_KIND = "t2_reminder"  # the outbox kind of a reminder to deliver
SENDER = "dispatching_side"  # T2: the reminder is the dispatching side's (派单部门) message


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


@HANDLERS.operation("tell_dispatching_side")
def tell_dispatching_side(call: ServiceCall) -> dict[str, Any]:
    """T2: the agent informs the dispatching side, which reminds the department: an outbox row
    written in this command's transaction, delivered after its commit (engine.outbox).

    Returns ``{"reminder_to": <instance>, "outbox_id": <row>}``; a call that is not a T2 merge
    is a diagram error (the element's incoming flow is the T2 branch).
    """
    pending = pending_reminder(dict(call.task_data))
    if pending is None:
        raise ValueError("T2: the call was not merged into a running complaint (no closure merged_into)")
    _, payload = pending
    target = int(call.params["running_complaint"])
    payload["from_instance"] = call.instance_id
    row = outbox.add(
        call.connection,
        REMINDER_KIND,
        {"target": target, "message": payload},
        now=call.now,
        instance_id=call.instance_id,
    )
    return {"reminder_to": target, "outbox_id": row}


@HANDLERS.delivery(REMINDER_KIND)
def deliver_reminder_row(item: OutboxItem) -> None:
    """T2: the dispatching side's reminder reaches the running complaint, marked in the same commit.

    The payload names the running complaint's department group (``department_group``), read
    just before sending: the reminder task is offered to that department, or to the centre
    while the complaint is not dispatched yet. A complaint that closed in between refuses the
    message: the row ends ``failed`` and the agent is told to record a T3 complaint instead.
    """
    engine = item.engine
    target = int(item.payload["target"])
    payload = dict(item.payload["message"])
    # The event subprocess sees only the message, so it carries the group to remind.
    payload["department_group"] = engine.instance_data(target).get("department_group") or ""
    try:
        engine.send_message(
            target,
            REMINDER_MESSAGE,
            actor=SENDER,
            payload=payload,
            record=lambda outcome: item.mark_in(outcome.connection),
        )
    except Conflict as closed:  # the complaint ended meanwhile: no reminder can ever reach it
        raise Undeliverable(f"T2: {closed}") from closed


def reminder_state(engine: Any, instance_id: int) -> str | None:
    """What became of the reminder of the merged intake ``instance_id``: ``delivered``,
    ``pending`` (retried), ``failed`` (the complaint had closed), or None (not a T2 merge)."""
    rows = [row for row in engine.outbox.rows_of(instance_id) if row.kind == REMINDER_KIND]
    return rows[-1].status if rows else None


def deliver_legacy_reminder(engine: Any, instance_id: int, *, actor: str) -> int | None:
    """T2 for versions deployed before ``svc_tell_dispatching`` (no outbox row): send the reminder
    of the merged intake ``instance_id`` now, as the web layer did then; returns the target.

    Returns None when the intake was not a T2 merge or its version wrote the reminder itself.
    ``engine.errors.Conflict`` if the running complaint closed in between.
    """
    if reminder_state(engine, instance_id) is not None:
        return None
    pending = pending_reminder(engine.instance_data(instance_id))
    if pending is None:
        return None
    target, payload = pending
    payload["from_instance"] = instance_id
    payload["department_group"] = engine.instance_data(target).get("department_group") or ""
    engine.send_message(target, REMINDER_MESSAGE, actor=actor, payload=payload)
    return target
