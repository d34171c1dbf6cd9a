"""Service operations of the complaint diagram: each docstring names the rule ids it implements.

An operation receives ``engine.handlers.ServiceCall`` (evaluated parameters, the task data,
the engine clock's ``now`` and the version's config) and returns JSON-able data, which the
service task stores in its ``resultVariable``. Time always comes from ``call.now``, never
from the system clock, so simulated time (tests, replays) behaves like real time.

Deadlines are computed by the plain functions of ``tasks/deadlines.py``; this module only
finds the figures in the config and the inputs in the call.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from engine.handlers import ServiceCall
from tasks import config as cfg
from tasks import deadlines, records
from tasks.registry import REGISTRY

# The outcomes a complaint can end with (the ``outcome`` of ``close_complaint``).
OUTCOMES = ("resolved_at_first_contact", "closed", "closed_dissatisfied")


def _param(call: ServiceCall, name: str) -> Any:
    try:
        return call.params[name]
    except KeyError:
        raise ValueError(f"{call.element_id}: the service task passes no parameter {name!r}") from None


@REGISTRY.operation("register_complaint")
def register_complaint(call: ServiceCall) -> dict[str, Any]:
    """C4, C5, H1: number the complaint, stamp its acceptance, classify its urgency.

    Returns ``{complaint_no, accepted_at, order_type, urgent_because, priority}``:
    ``order_type`` is ``"urgent"`` when a type flag is major, repeat, batch or escalated
    (H1), and ``priority`` is that order type's figure from ``[priority]`` (inbox order).

    The number is ``<prefix>-<yyyymmdd>-<8 hex>``: the date of acceptance in the branch's zone
    and a random part. Handlers have no database, so a gap-free sequence must wait for the
    complaint record (tasks/ with its own table); the random part makes a clash negligible.
    """
    zone = cfg.branch_zone(call.config)
    types = list(call.task_data.get("complaint_types") or [])
    kind = deadlines.order_type(types)
    accepted = call.now.astimezone(zone)
    number = f"{cfg.number_prefix(call.config)}-{accepted:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
    return {
        "complaint_no": number,
        "accepted_at": accepted.isoformat(),
        "order_type": kind,
        "urgent_because": sorted(deadlines.URGENT_TYPES.intersection(types)),
        "priority": cfg.priority(call.config, kind),
    }


@REGISTRY.operation("set_dispatch_deadline")
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


@REGISTRY.operation("set_handling_deadline")
def set_handling_deadline(call: ServiceCall) -> str:
    """L4 (T6, E5): the department's handling deadline, written on the order at dispatch.

    Parameter ``order_type``; figures from ``[handling_deadlines]``, counted from the
    dispatch instant (``call.now``). Computed once: a returned order (E5) keeps it.
    """
    return deadlines.handling_due(
        call.now,
        _param(call, "order_type"),
        cfg.table(call.config, "handling_deadlines"),
        cfg.branch_zone(call.config),
    )


@REGISTRY.operation("set_reply_deadline")
def set_reply_deadline(call: ServiceCall) -> str:
    """R4 / L5: the customer hears the result within 2 working hours of the valid reply.

    Counted from the centre's acceptance of the department's reply (``call.now``) on the
    calendar named by ``[reply_deadline]`` (night 20:00-08:00 and lunch 12:00-14:30 excluded).
    """
    calendar, working_time = cfg.reply_calendar(call.config)
    return deadlines.reply_due(call.now, calendar, working_time)


@REGISTRY.operation("record_breach")
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


@REGISTRY.operation("close_complaint")
def close_complaint(call: ServiceCall) -> dict[str, Any]:
    """A2, V1, V2, L7: the complaint's final state: outcome, closing instant, on-time summary.

    Parameter ``outcome`` (one of ``resolved_at_first_contact``, ``closed``,
    ``closed_dissatisfied``). ``on_time`` is true when every measured deadline was met, and
    ``missed`` lists the clocks that were not: the on-time rate (L7) is counted from these.
    """
    outcome = _param(call, "outcome")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
    measured = call.task_data.get("deadlines") or {}
    missed = sorted(clock for clock, entry in measured.items() if not entry.get("met"))
    return {
        "outcome": outcome,
        "closed_at": call.now.astimezone(cfg.branch_zone(call.config)).isoformat(),
        "on_time": not missed,
        "missed": missed,
    }


@REGISTRY.function("deadline_outcome")
def deadline_outcome(deadlines_so_far, clock, due, done_at):
    """L7: the postScript of a task with a deadline measures it when the task is completed.

    ``deadlines = deadline_outcome(deadlines, "L2", dispatch_due, now())`` in a diagram; see
    ``tasks.deadlines.deadline_outcome``.
    """
    return deadlines.deadline_outcome(deadlines_so_far, clock, due, done_at)
