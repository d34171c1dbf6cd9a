"""Validators of the department's work-order reply and the centre's decisions on it (W1-W5, E1-E5,
H2, H4, H5, H7, R1): what the department answers, the extension it may ask for instead, and the
review of both. Messages start with the rule id (see ``tasks.validators``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.handlers import HandlerRegistry, TaskInput
from engine.messages import N_
from tasks import records
from tasks.form_checks import Errors, refs, text

HANDLERS = HandlerRegistry()
"""This module's validators; ``tasks.validators.HANDLERS`` includes them."""


@HANDLERS.validator("work_order_reply")
def work_order_reply(task: TaskInput) -> Errors | None:
    """W1-W5, E1, E2, H2, H5, H7, E3, R1: the department's work-order reply, or its extension request.

    A reply needs cause (W1: "unknown" must be said explicitly), handling process and
    whether it is final (W2), result and whether service is restored (W3), customer attitude
    (W5) and whether the problem is concentrated. W4: a concentrated problem (affecting many
    customers) also needs the measures, the expected restoration time (an ISO date-time) and
    the coordinating department.

    E3: instead of replying, the department may request an extension
    (``request_extension``): it states the progress so far, the special reason and the new
    deadline it asks for (an instant with its offset, later than the current handling
    deadline and than now). The W fields are not required then.

    An escalated complaint's reply follows E1-E2: whether the company is responsible (and
    which department), the handling in brief, and whether the customer went to a government
    body or the consumer association before: then the earlier complaint and the proof that
    the customer accepted it are required (E2). A MIIT transfer needs its feedback form
    reference (H7). A tariff dispute is verified first; an over-charge is compensated, and
    cash needs a reason (H2, H5). H4: a complaint the department marks as likely to be
    disputed later (``dispute_likely``) needs evidence references of the handling
    (``evidence_refs``: file references or SHA-256 of files uploaded on the task page). R1: a repeat
    complaint's reply that concludes otherwise than the earlier reply needs a justification.
    """
    values = task.submitted
    errors: Errors = {}
    if values.get("request_extension") is True:
        _check_extension_request(errors, values, task)
        return errors or None
    _check_escalated_reply(errors, values, task.task_data)
    _check_tariff(errors, values)
    if values.get("dispute_likely") is True and not refs(values, "evidence_refs"):
        errors["evidence_refs"] = N_(
            "H4: a complaint likely to be disputed later keeps evidence of the handling: "
            "attach a file reference or the SHA-256 of an uploaded file"
        )
    if task.connection is not None:
        _check_consistent_with_earlier(errors, values, task.task_data, task.connection)
    _check_reply_fields(errors, values)
    if values.get("concentrated") is True:
        _check_concentrated(errors, values)
    return errors or None


def _check_extension_request(errors: Errors, values: Mapping[str, Any], task: TaskInput) -> None:
    """E3: progress, special reason and a new deadline later than the current one and than now."""
    for field, message in (
        ("extension_progress", N_("E3: an extension request states the progress of the handling so far")),
        (
            "extension_reason",
            N_("E3: an extension request states the special reason the deadline cannot be met"),
        ),
    ):
        if not text(values, field):
            errors[field] = message
    until = text(values, "extension_until")
    try:
        requested = datetime.fromisoformat(until) if until else None
    except ValueError:
        requested = None
    if requested is None or requested.tzinfo is None:
        errors["extension_until"] = N_("E3: the new deadline asked for, e.g. 2026-11-30T18:00+08:00")
        return
    current = task.task_data.get("handling_due")
    if current and requested <= datetime.fromisoformat(current):
        errors["extension_until"] = N_(
            "E3: the new deadline must be later than the current one (%(current)s)", current=current
        )
    elif requested <= task.now:
        errors["extension_until"] = N_("E3: the new deadline must lie in the future")


def _check_reply_fields(errors: Errors, values: Mapping[str, Any]) -> None:
    """W1, W2, W3, W5: the texts every reply writes; W2-W4: the yes/no answers it gives."""
    for field, message in (
        ("cause", N_("W1: write the cause in detail, or say that it is unknown")),
        ("handling_process", N_("W2: write what was done and the customer's current service state")),
        ("result", N_("W3: write the result: the current service state, restored or not")),
        ("customer_attitude", N_("W5: write the customer's attitude and opinion")),
    ):
        if not text(values, field):
            errors[field] = message
    for field, message in (
        ("handling_final", N_("W2: say whether the handling is final")),
        ("service_restored", N_("W3: say whether the service is restored")),
        ("concentrated", N_("W4: say whether the problem is concentrated (affects many customers)")),
    ):
        if not isinstance(values.get(field), bool):
            errors[field] = message


def _check_concentrated(errors: Errors, values: Mapping[str, Any]) -> None:
    """W4: a concentrated problem needs measures, a coordinating department and the expected
    restoration time (a date-time)."""
    if not text(values, "measures"):
        errors["measures"] = N_("W4: a concentrated problem needs the measures taken to solve it")
    if not text(values, "coordinating_department"):
        errors["coordinating_department"] = N_("W4: name the department coordinating the solution")
    restoration = text(values, "restoration_time")
    if not restoration:
        errors["restoration_time"] = N_("W4: give the expected restoration time")
        return
    try:
        datetime.fromisoformat(restoration)
    except ValueError:
        errors["restoration_time"] = N_(
            "W4: the restoration time must be a date and time, e.g. 2026-11-28T18:00+08:00"
        )


# E2: the handling is told in the original's order (先写明……而后陈述……): the first complaint's
# time, what was verified and the opinion then, the customer's acceptance then; then, after the
# outside unit's transfer, what was verified and the final opinion. (The customer's acceptance
# of the final reply is the return visit's, V2.)
_E2_ACCOUNT = (
    ("first_complaint_at", N_("E2: first, when the customer first complained")),
    ("first_findings", N_("E2: what was verified at the first complaint and the opinion given")),
    ("first_acceptance", N_("E2: how far the customer accepted the reply to the first complaint")),
    ("transfer_findings", N_("E2: what was verified after the outside unit's transfer")),
    ("final_opinion", N_("E2: the final opinion")),
)


def _check_escalated_reply(errors: Errors, values: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """E1, E2, H7: the reply structure of an escalated complaint (see work_order_reply)."""
    if "escalated" not in (data.get("complaint_types") or []):
        return
    if not isinstance(values.get("company_responsible"), bool):
        errors["company_responsible"] = N_("E1: say first whether the company is responsible")
    elif values["company_responsible"] and not text(values, "responsible_department"):
        errors["responsible_department"] = N_("E1: name the responsible department")
    if not text(values, "handling_summary"):
        errors["handling_summary"] = N_("E2: summarise the handling")
    if not isinstance(values.get("earlier_authority_complaint"), bool):
        errors["earlier_authority_complaint"] = N_(
            "E2: say whether the customer complained to a government body or the consumer association before"
        )
    elif values["earlier_authority_complaint"] and not text(values, "authority_intake_proof"):
        errors["authority_intake_proof"] = N_(
            "E2: attach the proof that the government body or consumer association accepted this complaint"
        )
    for field, message in _E2_ACCOUNT:
        if not text(values, field):
            errors[field] = message
    if data.get("channel") == "miit" and not text(values, "miit_feedback_form"):
        errors["miit_feedback_form"] = N_("H7: a MIIT transfer needs the User Appeal Handling Feedback Form")


def _check_consistent_with_earlier(
    errors: Errors, values: Mapping[str, Any], data: Mapping[str, Any], connection: Any
) -> None:
    """R1: a repeat complaint gets a reply consistent with the earlier one. Where this reply
    concludes otherwise than the earlier complaint's reply on responsibility (E1), over-charge
    (H2) or the form of compensation (H5), the department justifies the change explicitly."""
    earlier_number = data.get("repeat_of")
    earlier = records.find_by_number(connection, str(earlier_number)) if earlier_number else None
    if earlier is None or text(values, "consistency_justification"):
        return
    before = earlier.conclusion
    changed = [
        f"{field} {before[field]!r} -> {values[field]!r}"
        for field in records.CONCLUSION_FIELDS
        if field in before and values.get(field) is not None and values[field] != before[field]
    ]
    if changed:
        errors["consistency_justification"] = N_(
            "R1: the reply to the earlier complaint %(number)s concluded otherwise (%(changed)s): "
            "justify the change",
            number=earlier.number,
            changed="; ".join(changed),
        )


def _check_tariff(errors: Errors, values: Mapping[str, Any]) -> None:
    """H2, H5: tariff disputes are verified first; over-charges compensated, cash only with a reason."""
    if values.get("tariff_dispute") is not True:
        return
    if values.get("tariff_verified") is not True:
        errors["tariff_verified"] = N_("H2: verify the charges first, then handle the dispute")
    if not isinstance(values.get("overcharged"), bool):
        errors["overcharged"] = N_("H2: say whether the customer was wrongly, mistakenly or over-charged")
    elif values["overcharged"]:
        if not values.get("compensation_form"):
            errors["compensation_form"] = N_("H2/H5: compensate as promised: choose the form of compensation")
        if not text(values, "compensation_detail"):
            errors["compensation_detail"] = N_("H2: record what was given")
        if values.get("compensation_form") == "cash" and not text(values, "cash_reason"):
            errors["cash_reason"] = N_("H5: cash is only a supplement: say why cash")


@HANDLERS.validator("extension_decision")
def extension_decision(task: TaskInput) -> Errors | None:
    """E3: the supervisor approves or refuses the extension; a refusal states its reason."""
    values = task.submitted
    if values.get("extension_approved") is False and not text(values, "extension_note"):
        return {
            "extension_note": N_("E3: say why the extension is refused (the department keeps its deadline)")
        }
    return None


@HANDLERS.validator("reply_review")
def reply_review(task: TaskInput) -> Errors | None:
    """E4, E5: the centre reviews the department's reply; a return states its reason.

    A returned order goes back to the department with the reason; its handling deadline
    stays the one set at dispatch (E5), which the diagram guarantees by not recomputing it.
    """
    values = task.submitted
    if values.get("reply_qualified") is False and not text(values, "return_reason"):
        return {
            "return_reason": N_("E5: say why the reply is not qualified, so the department can rework it")
        }
    return None
