"""Service operations of the complaint diagram: each docstring names the rule ids it implements.

An operation receives ``engine.handlers.ServiceCall`` (evaluated parameters, the task data,
the engine clock's ``now`` and the version's config) and returns JSON-able data, which the
service task stores in its ``resultVariable``. Time always comes from ``call.now``, never
from the system clock, so simulated time (tests, replays) behaves like real time.

Deadlines are computed by the plain functions of ``tasks/deadlines.py``; this module only
finds the figures in the config and the inputs in the call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.clock_outcomes import MISSED
from engine.handlers import HandlerRegistry, ServiceCall
from tasks import config as cfg
from tasks import deadlines, records

HANDLERS = HandlerRegistry()
"""This module's handlers; ``tasks.registry.build_registry`` gathers them."""

# The outcomes a complaint can end with (the ``outcome`` of ``close_complaint``).
# ``merged_into``: a T2 call about a complaint still in progress, merged into it (no order).
OUTCOMES = ("resolved_at_first_contact", "closed", "closed_dissatisfied", "closed_unreachable", "merged_into")


def _param(call: ServiceCall, name: str) -> Any:
    try:
        return call.params[name]
    except KeyError:
        raise ValueError(f"{call.element_id}: the service task passes no parameter {name!r}") from None


@HANDLERS.operation("register_complaint")
def register_complaint(call: ServiceCall) -> dict[str, Any]:
    """C4, C5, H1, A3: number the complaint, stamp its acceptance, classify its urgency.

    Returns ``{complaint_no, accepted_at, order_type, urgent_because, priority,
    department_groups}``:
    ``order_type`` is ``"urgent"`` when a type flag is major, repeat, batch or escalated
    (H1), or the customer shows signs of going over the company's head (A3: the order is
    created quickly), and ``priority`` is that order type's figure from ``[priority]``.
    ``department_groups`` (code -> group, from ``[departments.*]`` of this version) lets the
    dispatch postScript name the chosen department's group (``department_group``), which the
    department lane's tasks are offered to (their ``candidateGroup`` property).

    The number is ``<prefix>-<yyyymmdd>-<nnnn>``: the date of acceptance in the branch's zone
    and the day's gap-free sequence (``tasks.records.next_number``, in the command's
    transaction, so a rolled-back intake gives its number back), or the number a website
    complaint reserved when it was submitted (``reserved_complaint_no``).
    """
    zone = cfg.branch_zone(call.config)
    types = list(call.task_data.get("complaint_types") or [])
    urgent_because = sorted(deadlines.URGENT_TYPES.intersection(types))
    if call.task_data.get("escalation_risk") is True:
        urgent_because.append("escalation_risk")  # A3: create the order quickly
    kind = deadlines.URGENT if urgent_because else deadlines.ORDINARY
    accepted = call.now.astimezone(zone)
    # A website complaint reserved its number when the customer submitted it (A5).
    number = call.task_data.get("reserved_complaint_no") or records.next_number(
        call.connection, cfg.number_prefix(call.config), accepted
    )
    return {
        "complaint_no": number,
        "accepted_at": accepted.isoformat(),
        "order_type": kind,
        "urgent_because": urgent_because,
        "priority": cfg.priority(call.config, kind),
        "department_groups": cfg.department_groups(call.config),
    }


@HANDLERS.operation("check_repeat")
def check_repeat(call: ServiceCall) -> dict[str, Any]:
    """T2, T3: is this call about an earlier complaint (``repeat_of``, checked at intake)?

    Returns ``{kind, repeat_of, instance_id}``: ``kind`` is ``"in_progress"`` when the earlier
    complaint is still open (T2: no new work order; the call is merged into it and its
    handlers get a reminder), ``"dissatisfied"`` when it is closed (T3: a new, linked work
    order), ``"none"`` without a link. Read in the command's transaction, so the state is the
    one the intake validator checked.
    """
    number = (call.task_data.get("repeat_of") or "").strip()
    if not number:
        return {"kind": "none", "repeat_of": None, "instance_id": None}
    earlier = records.find_by_number(call.connection, number)
    if earlier is None:
        raise ValueError(f"T2/T3: no complaint {number!r} to link to")
    kind = "in_progress" if earlier.status == "open" else "dissatisfied"
    return {"kind": kind, "repeat_of": number, "instance_id": earlier.instance_id}


@HANDLERS.operation("set_dispatch_deadline")
def set_dispatch_deadline(call: ServiceCall) -> str:
    """L2: review and dispatch within 2 h of acceptance (ordinary), 30 min (urgent, H1).

    Parameters ``accepted_at`` and ``order_type``; figures from ``[dispatch_deadlines]``.
    Plain elapsed time: the centre works around the clock for dispatch.
    """
    return deadlines.dispatch_due(
        _param(call, "accepted_at"),
        _param(call, "order_type"),
        cfg.table(call.config, "dispatch_deadlines"),
        cfg.branch_zone(call.config),
    )


@HANDLERS.operation("set_handling_deadline")
def set_handling_deadline(call: ServiceCall) -> str:
    """L4 (T6, E5): the department's handling deadline, written on the order at dispatch.

    Parameter ``order_type``; figures from ``[handling_deadlines]``, counted from the
    dispatch instant (``call.now``). Computed once: a returned order (E5) keeps it. T6: an
    escalated complaint's order never gets a deadline later than the outside unit's
    (``outside_deadline`` recorded at intake).
    """
    due = deadlines.handling_due(
        call.now,
        _param(call, "order_type"),
        cfg.table(call.config, "handling_deadlines"),
        cfg.branch_zone(call.config),
    )
    outside = call.task_data.get("outside_deadline")
    if outside and deadlines.instant(outside) < deadlines.instant(due):
        return deadlines.instant(outside).astimezone(cfg.branch_zone(call.config)).isoformat()
    return due


@HANDLERS.operation("set_reply_deadline")
def set_reply_deadline(call: ServiceCall) -> str:
    """R4 / L5: the customer hears the result within 2 working hours of the department's valid reply.

    The original counts from the replying side's receipt of the department's valid reply
    (回复部门在接到投诉处理部门有效回复后), so the clock starts at parameter ``replied_at``: the
    instant the department submitted the reply the centre's review (E4) has just accepted, not
    the acceptance (``call.now``); a returned reply (E5) is replaced by the next and starts
    nothing. A diagram of an earlier version passes no ``replied_at``: its complaints keep
    counting from the acceptance. On the calendar named by ``[reply_deadline]`` (night
    20:00-08:00 and lunch 12:00-14:30 excluded).
    """
    if "replied_at" not in call.params:  # a version deployed before issue 11 counts from now
        replied: Any = call.now
    else:
        replied = call.params["replied_at"]
    try:
        start = deadlines.instant(replied)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{call.element_id}: parameter 'replied_at' is not an instant: {error}") from None
    if start > call.now:
        raise ValueError(f"{call.element_id}: parameter 'replied_at' {replied!r} is later than now")
    calendar, working_time = cfg.reply_calendar(call.config)
    return deadlines.reply_due(start, calendar, working_time)


@HANDLERS.operation("record_breach")
def record_breach(call: ServiceCall) -> list[dict[str, Any]]:
    """L7: a deadline timer fired; append ``{clock, due, at, late_by_s}`` to ``breaches``.

    Parameters ``clock`` (the rule id, e.g. ``"L2"``) and ``due``. ``at`` is the engine
    clock's instant of the firing. This runs on the timer's own branch of the process: the
    record is what the alert shows, and it is kept in ``deadline_breaches`` (tasks.records)
    in the firing's own transaction; the per-order outcome on the main path is
    ``deadlines`` (see ``deadline_outcome``), measured when the work is done.
    """
    record = deadlines.breach_record(
        _param(call, "clock"), _param(call, "due"), call.now, cfg.branch_zone(call.config)
    )
    records.record_breach(
        call.connection,
        instance_id=call.instance_id,
        clock=record["clock"],
        due_at=datetime.fromisoformat(record["due"]),
        at=call.now,
    )
    return [*call.task_data.get("breaches", []), record]


@HANDLERS.operation("close_complaint")
def close_complaint(call: ServiceCall) -> dict[str, Any]:
    """A2, T2, V1, V2, H3, R6, L7: the complaint's final state: outcome, closing instant, on-time summary.

    Parameter ``outcome`` (one of ``resolved_at_first_contact``, ``closed``,
    ``closed_dissatisfied``, ``closed_unreachable`` (R6), ``merged_into``). ``on_time`` is
    true when every measured deadline was met (the latest round of each clock, from the
    timers: ``ServiceCall.clocks``), and ``missed`` lists the clocks that were not:
    the on-time rate (L7) is counted from these. Optional parameters: ``judgement`` (H3: why a dissatisfied
    customer's complaint is closed, e.g. ``"unreasonable"``) and ``merged_into`` (T2: the
    number of the running complaint, with ``merged_into_instance``).
    """
    outcome = _param(call, "outcome")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
    missed = sorted(_missed_clocks(call))
    closure = {
        "outcome": outcome,
        "closed_at": call.now.astimezone(cfg.branch_zone(call.config)).isoformat(),
        "on_time": not missed,
        "missed": missed,
    }
    for optional in ("judgement", "merged_into", "merged_into_instance"):
        if call.params.get(optional) is not None:
            closure[optional] = call.params[optional]
    return closure


def _missed_clocks(call: ServiceCall) -> set[str]:
    """L7: the clocks whose latest round was missed, as the timers tell them now (the clocks a
    script still measures into ``deadlines`` too)."""
    latest: dict[str, tuple[int, Any]] = {}
    for (clock, number), outcome in (call.clocks() if call.clocks is not None else {}).items():
        if clock not in latest or number > latest[clock][0]:
            latest[clock] = (number, outcome)
    missed = {clock for clock, (_, outcome) in latest.items() if outcome.status == MISSED}
    measured = call.task_data.get("deadlines") or {}
    scripted = {clock for clock, entry in measured.items() if clock not in latest and not entry.get("met")}
    return missed | scripted


@HANDLERS.operation("second_dispatch")
def second_dispatch(call: ServiceCall) -> dict[str, Any]:
    """V1, H3, H1: second dispatch (二次派单) after a dissatisfied return visit.

    The complaint was not properly solved: it is re-handled urgently (加急再处理), and goes
    through the centre's review and dispatch again (which may choose another department and
    writes the new handling deadline, L4). Returns ``{round, at, order_type, priority,
    earlier_deadlines}``: the order is urgent from now on (inbox priority, the urgent L2 span
    counted from ``at``, the instant of the decision), ``round`` counts the dispatches, and
    ``earlier_deadlines`` keeps the measured deadlines of the earlier rounds (L7), since the
    new round measures L2, L4 and R4 again.
    """
    zone = cfg.branch_zone(call.config)
    earlier = list(call.task_data.get("earlier_deadlines") or [])
    earlier.append(dict(call.task_data.get("deadlines") or {}))
    return {
        "round": int(call.task_data.get("dispatch_round") or 1) + 1,
        "at": call.now.astimezone(zone).isoformat(),
        "order_type": deadlines.URGENT,
        "priority": cfg.priority(call.config, deadlines.URGENT),
        "earlier_deadlines": earlier,
    }


@HANDLERS.operation("extend_handling_deadline")
def extend_handling_deadline(call: ServiceCall) -> dict[str, Any]:
    """E3, L4, L7: the supervisor approved the department's extension request.

    Parameters ``handling_due`` (the deadline on the order now) and ``requested_until``.
    Returns the record kept in ``extensions``: ``{old_due, new_due, progress, reason,
    approved_at, approved_note}``; the diagram's postScript writes ``new_due`` into
    ``handling_due``, which the L4 timer reads when the handling task is entered again.
    """
    zone = cfg.branch_zone(call.config)
    old_due = deadlines.instant(_param(call, "handling_due"))
    new_due = deadlines.instant(_param(call, "requested_until"))
    if new_due <= old_due:
        raise ValueError("E3: an extension must move the handling deadline later")
    data = call.task_data
    return {
        "old_due": old_due.astimezone(zone).isoformat(),
        "new_due": new_due.astimezone(zone).isoformat(),
        "progress": data.get("extension_progress"),
        "reason": data.get("extension_reason"),
        "approved_at": call.now.astimezone(zone).isoformat(),
        "approved_note": data.get("extension_note"),
    }


@HANDLERS.function("deadline_outcome")
def deadline_outcome(deadlines_so_far, clock, due, done_at):
    """L7: the postScript of a task with a deadline measures it when the task is completed.

    ``deadlines = deadline_outcome(deadlines, "L2", dispatch_due, now())`` in a diagram; see
    ``tasks.deadlines.deadline_outcome``.
    """
    return deadlines.deadline_outcome(deadlines_so_far, clock, due, done_at)


@HANDLERS.operation("record_reminder")
def record_reminder(call: ServiceCall) -> dict[str, Any]:
    """T2: a reminder (催办) reached the running complaint: count it on the complaint record.

    Runs first in the reminder event subprocess; returns what the department's reminder task
    shows: ``{received_at, from_instance, note, customer_phone, department_group}`` (from the
    message payload ``reminder``; the group is the department to remind, empty before dispatch).
    """
    payload = call.task_data.get("reminder") or {}
    records.count_reminder(call.connection, call.instance_id)
    return {
        "received_at": call.now.astimezone(cfg.branch_zone(call.config)).isoformat(),
        "from_instance": payload.get("from_instance"),
        "note": payload.get("note"),
        "customer_phone": payload.get("customer_phone"),
        "department_group": payload.get("department_group") or "",
    }


@HANDLERS.operation("check_first_reply")
def check_first_reply(call: ServiceCall) -> dict[str, Any]:
    """L1, L7: when the L1 timer fires: has the customer heard the solution or the progress?

    Reads ``first_reply_at`` on the complaint record (the reply attempt, a resolution at
    first contact or a ``progress_reply`` message set it). Without one, records the L1
    breach in ``deadline_breaches``. Returns ``{missing, due, first_reply_at}``. A complaint
    still being recorded (no record yet) has had no reply either.
    """
    zone = cfg.branch_zone(call.config)
    due, clock = call.fired_due, call.fired_clock  # the timer that opened this path: the diagram's
    if due is None or clock is None:
        raise ValueError(f"{call.element_id}: check_first_reply must follow a clock timer (none fired)")
    row = records.complaint_of_instance(call.connection, call.instance_id)
    first_reply = row.first_reply_at if row is not None else None
    missing = first_reply is None or first_reply > due
    if missing:
        records.record_breach(
            call.connection, instance_id=call.instance_id, clock=clock, due_at=due, at=call.now
        )
    return {
        "missing": missing,
        "due": due.astimezone(zone).isoformat(),
        "first_reply_at": first_reply.astimezone(zone).isoformat() if first_reply else None,
    }


@HANDLERS.operation("record_progress_reply")
def record_progress_reply(call: ServiceCall) -> dict[str, Any]:
    """L1: the customer was told the progress: the first reply, if none came earlier."""
    kept = records.record_first_reply(call.connection, call.instance_id, call.now)
    zone = cfg.branch_zone(call.config)
    return {
        "told_at": call.now.astimezone(zone).isoformat(),
        "first_reply_at": kept.astimezone(zone).isoformat() if kept else None,
    }
