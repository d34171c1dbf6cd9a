"""User-task validators of the complaint diagram: each docstring names the rule ids it enforces.

The engine runs a task's JSON Schema first (types, required fields, fixed enums), then the
validator the task names. Validators check what a schema cannot say plainly: conditional
requirements (W4, E5, A2, A5, V1) and lists that live in the deployed config (C1-C3). Each
message starts with the rule id, so the person filling in the form, and a failing test,
know which sentence of the procedure is at stake. A validator returns ``{field: message}``
or None; the engine then refuses the input and saves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.handlers import TaskInput
from tasks import config as cfg
from tasks.registry import REGISTRY

Errors = dict[str, str]


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _check_code(errors: Errors, values: Mapping[str, Any], field: str, allowed: list[str], rule: str) -> None:
    value = values.get(field)
    if value is not None and value not in allowed:
        errors[field] = f"{rule}: {value!r} is not in the configured list ({', '.join(allowed)})"


@REGISTRY.validator("complaint_record")
def complaint_record(task: TaskInput) -> Errors | None:
    """C1, C2, C3, C5, A2, A5: the intake record.

    * C1-C3: channel, business and nature category are codes of the deployed config; every
      complaint has exactly one of each (C4 counts rely on it).
    * C5: at least one type flag; ``ordinary`` cannot be combined with another flag; a
      complaint taken on an escalation channel (Ministry, group, administration, consumer
      association, media) carries the ``escalated`` flag.
    * A5: the fields the channel's ``a5_required`` list names are filled in (letter or fax:
      the archive reference of the document; visit: the customer confirmed the record; web
      or e-mail: the details were verified with the customer).
    * A2: a complaint resolved at first contact records how, and that the customer accepted.
    """
    values, config = task.submitted, task.config
    errors: Errors = {}
    _check_code(errors, values, "channel", cfg.codes(config, "channels"), "C1")
    _check_code(errors, values, "business_category", cfg.codes(config, "business_categories"), "C2")
    _check_code(errors, values, "nature_category", cfg.codes(config, "nature_categories"), "C3")

    types = list(values.get("complaint_types") or [])
    known_types = cfg.codes(config, "complaint_types")
    unknown = [code for code in types if code not in known_types]
    if not types:
        errors["complaint_types"] = "C5: choose at least one complaint type"
    elif unknown:
        errors["complaint_types"] = (
            f"C5: unknown type(s) {', '.join(unknown)} (known: {', '.join(known_types)})"
        )
    elif "ordinary" in types and len(types) > 1:
        errors["complaint_types"] = "C5: 'ordinary' cannot be combined with major, repeat, batch or escalated"

    channel = cfg.channel(config, values.get("channel", ""))
    if channel is not None:
        if channel.get("escalation") and "escalated" not in types and "complaint_types" not in errors:
            errors["complaint_types"] = (
                "C1/C5: a complaint transferred on an escalation channel is an escalated complaint: "
                "add the 'escalated' type"
            )
        for field in channel.get("a5_required", []):
            value = values.get(field)
            if value is True or (isinstance(value, str) and value.strip()):
                continue
            errors[field] = f"A5: required for a complaint taken by {channel.get('label', values['channel'])}"

    if values.get("first_contact_resolved") is True:
        if not _text(values, "first_contact_resolution"):
            errors["first_contact_resolution"] = (
                "A2: record how the complaint was resolved on the spot (what was explained or done)"
            )
        if values.get("customer_accepted") is not True:
            errors["customer_accepted"] = (
                "A2: a complaint is complete at first contact only if the customer accepted the "
                "resolution; otherwise record it and leave it to dispatch"
            )
    return errors or None


@REGISTRY.validator("dispatch_order")
def dispatch_order(task: TaskInput) -> Errors | None:
    """L2, L4, T6: the dispatcher sends the order to a configured handling department.

    The handling lane of this version serves the department group ``dept:network``; the
    chosen department must map to a group that a handling lane serves, so an order can
    never be dispatched to a department nobody would be offered it in.
    """
    values, config = task.submitted, task.config
    errors: Errors = {}
    departments = cfg.table(config, "departments")
    code = values.get("department")
    if code not in departments:
        errors["department"] = f"L4: unknown department {code!r} (configured: {', '.join(departments)})"
    else:
        group = departments[code].get("group")
        if group not in set(config.get("lanes", {}).values()):
            errors["department"] = (
                f"L4: department {code!r} (group {group!r}) has no handling lane in this version yet"
            )
    return errors or None


@REGISTRY.validator("work_order_reply")
def work_order_reply(task: TaskInput) -> Errors | None:
    """W1-W5: the department's work-order reply.

    The schema requires cause (W1: "unknown" must be said explicitly), handling process
    and whether it is final (W2), result and whether service is restored (W3), customer
    attitude (W5) and whether the problem is concentrated. W4: a concentrated problem
    (affecting many customers) also needs the measures, the expected restoration time (an
    ISO date-time) and the coordinating department.
    """
    values = task.submitted
    errors: Errors = {}
    for field, rule, what in (
        ("cause", "W1", "the cause in detail, or say that it is unknown"),
        ("handling_process", "W2", "what was done and the customer's current service state"),
        ("result", "W3", "the result: the current service state, restored or not"),
        ("customer_attitude", "W5", "the customer's attitude and opinion"),
    ):
        if field in values and not _text(values, field):
            errors[field] = f"{rule}: write {what}"
    if values.get("concentrated") is True:
        if not _text(values, "measures"):
            errors["measures"] = "W4: a concentrated problem needs the measures taken to solve it"
        if not _text(values, "coordinating_department"):
            errors["coordinating_department"] = "W4: name the department coordinating the solution"
        restoration = _text(values, "restoration_time")
        if not restoration:
            errors["restoration_time"] = "W4: give the expected restoration time"
        else:
            try:
                datetime.fromisoformat(restoration)
            except ValueError:
                errors["restoration_time"] = (
                    "W4: the restoration time must be a date and time, e.g. 2026-11-28T18:00+08:00"
                )
    return errors or None


@REGISTRY.validator("reply_review")
def reply_review(task: TaskInput) -> Errors | None:
    """E4, E5: the centre reviews the department's reply; a return states its reason.

    A returned order goes back to the department with the reason; its handling deadline
    stays the one set at dispatch (E5), which the diagram guarantees by not recomputing it.
    """
    values = task.submitted
    if values.get("reply_qualified") is False and not _text(values, "return_reason"):
        return {"return_reason": "E5: say why the reply is not qualified, so the department can rework it"}
    return None


@REGISTRY.validator("customer_reply")
def customer_reply(task: TaskInput) -> Errors | None:
    """R1, R4, R6: the department replies to the customer and records that it reached them.

    R6 (three more attempts within 48 h, 3 h apart, when the customer cannot be reached) is
    not modelled yet, so in this version the task is completed once the customer has been
    reached; until then it stays open and the R4 timer measures the delay.
    """
    values = task.submitted
    errors: Errors = {}
    if "reply_text" in values and not _text(values, "reply_text"):
        errors["reply_text"] = "R1: record the reply given to the customer"
    if values.get("customer_reached") is not True:
        errors["customer_reached"] = (
            "R4/R6: complete this task once the customer has been reached; unreachable-customer "
            "attempts (R6) are not supported yet"
        )
    return errors or None


@REGISTRY.validator("return_visit")
def return_visit(task: TaskInput) -> Errors | None:
    """V1, V2, H3: the return visit records the customer's opinion; dissatisfaction its reason."""
    values = task.submitted
    errors: Errors = {}
    if "customer_opinion" in values and not _text(values, "customer_opinion"):
        errors["customer_opinion"] = "V2: record the customer's opinion of the result"
    if values.get("satisfied") is False and not _text(values, "dissatisfaction_reason"):
        errors["dissatisfaction_reason"] = (
            "V1/H3: record why the customer is dissatisfied (needed to judge a second dispatch)"
        )
    return errors or None
