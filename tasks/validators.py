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
from datetime import datetime, timedelta
from typing import Any

from engine.handlers import HandlerRegistry, TaskInput
from engine.messages import N_
from tasks import config as cfg
from tasks import records

HANDLERS = HandlerRegistry()
"""This module's handlers; ``tasks.registry.build_registry`` gathers them."""

Errors = dict[str, str]


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _check_code(errors: Errors, values: Mapping[str, Any], field: str, allowed: list[str], rule: str) -> None:
    value = values.get(field)
    if value is not None and value not in allowed:
        errors[field] = N_(
            "%(rule)s: %(value)r is not in the configured list (%(allowed)s)",
            rule=rule,
            value=value,
            allowed=", ".join(allowed),
        )


# T5: the group that receives transfers from outside units at its own entry (start data
# ``received_by``); the web layer starts such complaints for the desk's members.
ESCALATION_DESK = "escalation_desk"


@HANDLERS.validator("complaint_record")
def complaint_record(task: TaskInput) -> Errors | None:
    """C1, C2, C3, C5, A2, A5, T5: the intake record.

    * C1-C3: channel, business and nature category are codes of the deployed config; every
      complaint has exactly one of each (C4 counts rely on it).
    * C5: at least one type flag; ``ordinary`` cannot be combined with another flag; a
      complaint taken on an escalation channel (Ministry, group, administration, consumer
      association, media) carries the ``escalated`` flag.
    * A5: the fields the channel's ``a5_required`` list names are filled in (letter or fax:
      the archive reference of the document; visit: the customer confirmed the record; web
      or e-mail: the details were verified with the customer).
    * A2: a complaint resolved at first contact records how, and that the customer accepted.
    * T2, T3 (needs the command's connection, so only through the engine): ``repeat_of``
      names an existing complaint. Open -> T2, the call is merged into it (no new order).
      Closed -> T3, a new linked order: the ``repeat`` flag and the reason for the
      dissatisfaction with the earlier result (``repeat_reason``) are required. Without a
      link, a customer (same phone or account) with a complaint in progress must be linked
      to it or the agent confirms a separate matter (``separate_matter``), so no second
      order is opened by oversight. The ``repeat`` flag needs a ``repeat_of`` link.
    * A3: a customer with a record or signs of going over the company's head is reported
      upward at once (``escalation_risk_reported_to``); registration makes the order urgent.
    * T4: a batch complaint carries its batch tag (``batch_tag``), the same on every order, and
      names the departments told at once for emergency handling (``batch_departments_notified``,
      codes of ``[departments.*]``): they are informed before the details are recorded.
    * T5: a complaint the escalation desk received at its own entry (``received_by``) was
      transferred on an escalation channel.
    * T6: an escalated complaint carries the outside unit's deadline (``outside_deadline``, an
      instant with its offset); the handling deadline written on the order never lies later.
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
        errors["complaint_types"] = N_("C5: choose at least one complaint type")
    elif unknown:
        errors["complaint_types"] = N_(
            "C5: unknown type(s) %(unknown)s (known: %(known)s)",
            unknown=", ".join(unknown),
            known=", ".join(known_types),
        )
    elif "ordinary" in types and len(types) > 1:
        errors["complaint_types"] = N_(
            "C5: 'ordinary' cannot be combined with major, repeat, batch or escalated"
        )

    channel = cfg.channel(config, values.get("channel", ""))
    if task.task_data.get("received_by") == ESCALATION_DESK and not (channel or {}).get("escalation"):
        errors["channel"] = N_(
            "T5: the escalation desk records transfers from outside units: choose the transferring "
            "channel (MIIT, group company, administration, consumer association, media)"
        )
    if channel is not None:
        if channel.get("escalation") and "escalated" not in types and "complaint_types" not in errors:
            errors["complaint_types"] = N_(
                "C1/C5: a complaint transferred on an escalation channel is an escalated complaint: "
                "add the 'escalated' type"
            )
        for field in channel.get("a5_required", []):
            value = values.get(field)
            if value is True or (isinstance(value, str) and value.strip()):
                continue
            errors[field] = N_(
                "A5: required for a complaint taken by %(channel)s",
                channel=channel.get("label", values["channel"]),
            )

    if values.get("first_contact_resolved") is True:
        if not _text(values, "first_contact_resolution"):
            errors["first_contact_resolution"] = N_(
                "A2: record how the complaint was resolved on the spot (what was explained or done)"
            )
        if values.get("customer_accepted") is not True:
            errors["customer_accepted"] = N_(
                "A2: a complaint is complete at first contact only if the customer accepted the "
                "resolution; otherwise record it and leave it to dispatch"
            )
    if "escalated" in types:
        outside = _text(values, "outside_deadline")
        try:
            parsed = datetime.fromisoformat(outside) if outside else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            errors["outside_deadline"] = N_(
                "T6: an escalated complaint carries the outside unit's deadline, e.g. 2026-11-29T17:00+08:00"
            )
    if values.get("escalation_risk") is True and not _text(values, "escalation_risk_reported_to"):
        errors["escalation_risk_reported_to"] = N_("A3: report a customer likely to escalate upward: to whom")
    if "batch" in types and not _text(values, "batch_tag"):
        errors["batch_tag"] = N_("T4: tag the batch, so every work order of it carries the same tag")
    if "batch" in types:
        notified = values.get("batch_departments_notified") or []
        unknown = [code for code in notified if code not in cfg.table(config, "departments")]
        if not notified or unknown:
            errors["batch_departments_notified"] = (
                N_(
                    "T4: tell the departments concerned at once for emergency handling, and say which "
                    "(unknown: %(unknown)s)",
                    unknown=", ".join(map(str, unknown)),
                )
                if unknown
                else N_("T4: tell the departments concerned at once for emergency handling, and say which")
            )
    if task.connection is not None:
        _check_repeat(errors, values, types, task.connection)
    return errors or None


def _check_repeat(errors: Errors, values: Mapping[str, Any], types: list[str], connection: Any) -> None:
    """T2, T3: the link to an earlier complaint of the same customer (see complaint_record)."""
    number = _text(values, "repeat_of")
    if number:
        earlier = records.find_by_number(connection, number)
        if earlier is None:
            errors["repeat_of"] = N_("T2/T3: there is no complaint %(number)s", number=number)
        elif earlier.status != "open":
            if "repeat" not in types and "complaint_types" not in errors:
                errors["complaint_types"] = N_(
                    "T3: a complaint about %(number)s's result is a repeat complaint", number=number
                )
            if not _text(values, "repeat_reason"):
                errors["repeat_reason"] = N_(
                    "T3: record why the customer is dissatisfied with the result of %(number)s (required)",
                    number=number,
                )
        return
    if "repeat" in types and "complaint_types" not in errors:
        errors["repeat_of"] = N_("T3: a repeat complaint is linked to the earlier one: give its number")
    phone, account = values.get("customer_phone"), values.get("customer_account")
    running = records.open_complaint_numbers(connection, phone, account)
    if running and values.get("separate_matter") is not True:
        numbers = ", ".join(running)
        errors["repeat_of"] = N_(
            "T2: the customer has a complaint in progress (%(numbers)s): link it (the handlers get a "
            "reminder, no new order) or confirm that this is a separate matter",
            numbers=numbers,
        )


@HANDLERS.validator("dispatch_order", fields=("department",))
def dispatch_order(task: TaskInput) -> Errors | None:
    """L2, L4, T6, T1, T4, H6, R2, R5: the dispatcher sends the order to a configured handling department.

    The department's group (``[departments.<code>] group``) is then offered the department
    lane's tasks; a department without a group cannot be chosen.

    T1: a major complaint is reported upward at once (to whom), gets an emergency response
    script (应答口径) and a handling plan; R2/R5: it gets a named dedicated replier, to whom
    the reply task is assigned and who alone may complete it (``customer_reply``). T4: a
    batch complaint is followed by one dedicated person, the branch's complaint handler
    (投诉处理员, named in ``batch_handler``), the same for every complaint of the batch. H6: a
    complaint of serious harm or wide social impact is reported upward, coordinated and assessed.
    """
    values, config = task.submitted, task.config
    errors: Errors = {}
    types = task.task_data.get("complaint_types") or []
    if "major" in types:
        for field, message in (
            (
                "reported_upward_to",
                N_(
                    "T1: a major complaint needs to whom the major complaint was reported "
                    "(level by level, at once)"
                ),
            ),
            ("emergency_script", N_("T1: a major complaint needs the emergency response script (应答口径)")),
            (
                "handling_plan",
                N_("T1: a major complaint needs the handling plan (with the pre-handling plan)"),
            ),
            (
                "dedicated_replier",
                N_("R2/R5: a major complaint needs the dedicated person who replies to the customer"),
            ),
        ):
            if not _text(values, field):
                errors[field] = message
    if values.get("serious_impact") is True:
        _check_serious_impact(errors, values)
    if "batch" in types:
        _check_batch_handler(errors, values, task)
    departments = cfg.table(config, "departments")
    code = values.get("department")
    if code not in departments:
        errors["department"] = N_(
            "L4: unknown department %(code)r (configured: %(configured)s)",
            code=code,
            configured=", ".join(departments),
        )
    elif not str((departments[code] or {}).get("group") or "").strip():
        errors["department"] = N_("L4: department %(code)r has no group in [departments.%(code)s]", code=code)
    return errors or None


def _check_serious_impact(errors: Errors, values: Mapping[str, Any]) -> None:
    """H6: serious harm or wide social impact: reported upward level by level, coordinated with
    regulators, arbitration, legal or media, and the impact assessed."""
    if not _text(values, "reported_upward_to"):
        errors["reported_upward_to"] = N_("H6: a complaint of serious impact is reported upward: to whom")
    if not values.get("coordinated_with"):
        errors["coordinated_with"] = N_("H6: name whom the handling is coordinated with (regulators, ...)")
    if not _text(values, "impact_assessment"):
        errors["impact_assessment"] = N_("H6: assess the impact (who is harmed, how widely, how it may grow)")


@HANDLERS.validator("plan_approval")
def plan_approval(task: TaskInput) -> Errors | None:
    """T1: the supervisor approves a major complaint's plan and reports it on to the next level
    (level by level), or refuses it saying what to change."""
    values = task.submitted
    if values.get("plan_approved") is True and not _text(values, "reported_onward_to"):
        return {"reported_onward_to": N_("T1: report the major complaint on to the next level: to whom")}
    if values.get("plan_approved") is False and not _text(values, "approval_note"):
        return {"approval_note": N_("T1: say what to change in the plan")}
    return None


@HANDLERS.validator("plan_revision")
def plan_revision(task: TaskInput) -> Errors | None:
    """T1: a revised plan must differ from the refused one."""
    before = str(task.task_data.get("handling_plan") or "").strip()
    if _text(task.submitted, "handling_plan") and _text(task.submitted, "handling_plan") == before:
        return {"handling_plan": N_("T1: the plan is unchanged; revise it as the supervisor asked")}
    return None


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
        for field, message in (
            ("extension_progress", N_("E3: an extension request states the progress of the handling so far")),
            (
                "extension_reason",
                N_("E3: an extension request states the special reason the deadline cannot be met"),
            ),
        ):
            if not _text(values, field):
                errors[field] = message
        until = _text(values, "extension_until")
        try:
            requested = datetime.fromisoformat(until) if until else None
        except ValueError:
            requested = None
        if requested is None or requested.tzinfo is None:
            errors["extension_until"] = N_("E3: the new deadline asked for, e.g. 2026-11-30T18:00+08:00")
        else:
            current = task.task_data.get("handling_due")
            if current and requested <= datetime.fromisoformat(current):
                errors["extension_until"] = N_(
                    "E3: the new deadline must be later than the current one (%(current)s)", current=current
                )
            elif requested <= task.now:
                errors["extension_until"] = N_("E3: the new deadline must lie in the future")
        return errors or None
    _check_escalated_reply(errors, values, task.task_data)
    _check_tariff(errors, values)
    if values.get("dispute_likely") is True and not _refs(values, "evidence_refs"):
        errors["evidence_refs"] = N_(
            "H4: a complaint likely to be disputed later keeps evidence of the handling: "
            "attach a file reference or the SHA-256 of an uploaded file"
        )
    if task.connection is not None:
        _check_consistent_with_earlier(errors, values, task.task_data, task.connection)
    for field, message in (
        ("cause", N_("W1: write the cause in detail, or say that it is unknown")),
        ("handling_process", N_("W2: write what was done and the customer's current service state")),
        ("result", N_("W3: write the result: the current service state, restored or not")),
        ("customer_attitude", N_("W5: write the customer's attitude and opinion")),
    ):
        if not _text(values, field):
            errors[field] = message
    for field, message in (
        ("handling_final", N_("W2: say whether the handling is final")),
        ("service_restored", N_("W3: say whether the service is restored")),
        ("concentrated", N_("W4: say whether the problem is concentrated (affects many customers)")),
    ):
        if not isinstance(values.get(field), bool):
            errors[field] = message
    if values.get("concentrated") is True:
        if not _text(values, "measures"):
            errors["measures"] = N_("W4: a concentrated problem needs the measures taken to solve it")
        if not _text(values, "coordinating_department"):
            errors["coordinating_department"] = N_("W4: name the department coordinating the solution")
        restoration = _text(values, "restoration_time")
        if not restoration:
            errors["restoration_time"] = N_("W4: give the expected restoration time")
        else:
            try:
                datetime.fromisoformat(restoration)
            except ValueError:
                errors["restoration_time"] = N_(
                    "W4: the restoration time must be a date and time, e.g. 2026-11-28T18:00+08:00"
                )
    return errors or None


def _refs(values: Mapping[str, Any], name: str) -> list[str]:
    """H4: the non-blank evidence references of a list field."""
    return [ref for ref in values.get(name) or [] if isinstance(ref, str) and ref.strip()]


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
    elif values["company_responsible"] and not _text(values, "responsible_department"):
        errors["responsible_department"] = N_("E1: name the responsible department")
    if not _text(values, "handling_summary"):
        errors["handling_summary"] = N_("E2: summarise the handling")
    if not isinstance(values.get("earlier_authority_complaint"), bool):
        errors["earlier_authority_complaint"] = N_(
            "E2: say whether the customer complained to a government body or the consumer association before"
        )
    elif values["earlier_authority_complaint"] and not _text(values, "authority_intake_proof"):
        errors["authority_intake_proof"] = N_(
            "E2: attach the proof that the government body or consumer association accepted this complaint"
        )
    for field, message in _E2_ACCOUNT:
        if not _text(values, field):
            errors[field] = message
    if data.get("channel") == "miit" and not _text(values, "miit_feedback_form"):
        errors["miit_feedback_form"] = N_("H7: a MIIT transfer needs the User Appeal Handling Feedback Form")


def _check_consistent_with_earlier(
    errors: Errors, values: Mapping[str, Any], data: Mapping[str, Any], connection: Any
) -> None:
    """R1: a repeat complaint gets a reply consistent with the earlier one. Where this reply
    concludes otherwise than the earlier complaint's reply on responsibility (E1), over-charge
    (H2) or the form of compensation (H5), the department justifies the change explicitly."""
    earlier_number = data.get("repeat_of")
    earlier = records.find_by_number(connection, str(earlier_number)) if earlier_number else None
    if earlier is None or _text(values, "consistency_justification"):
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
        if not _text(values, "compensation_detail"):
            errors["compensation_detail"] = N_("H2: record what was given")
        if values.get("compensation_form") == "cash" and not _text(values, "cash_reason"):
            errors["cash_reason"] = N_("H5: cash is only a supplement: say why cash")


@HANDLERS.validator("extension_decision")
def extension_decision(task: TaskInput) -> Errors | None:
    """E3: the supervisor approves or refuses the extension; a refusal states its reason."""
    values = task.submitted
    if values.get("extension_approved") is False and not _text(values, "extension_note"):
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
    if values.get("reply_qualified") is False and not _text(values, "return_reason"):
        return {
            "return_reason": N_("E5: say why the reply is not qualified, so the department can rework it")
        }
    return None


@HANDLERS.validator("customer_reply")
def customer_reply(task: TaskInput) -> Errors | None:
    """R1, R2, R3, R4, R5, R6: the department replies to the customer, or records it could not reach them.

    The reply given is recorded (R1). A major complaint's reply is given by its dedicated
    replier named at dispatch (R2, R5): nobody else may complete the task. A customer who
    could not be reached (phone off, suspended, no other contact) needs a note of the
    attempt; the R6 attempts follow
    (``task_retry_contact``, validator ``contact_attempt``). A written or e-mail reply (R3) is a
    draft at this point: it is reviewed and approved before it is sent, so "reached" does
    not apply to it.
    """
    values = task.submitted
    errors: Errors = {}
    replier = task.task_data.get("dedicated_replier")
    if replier and task.actor != replier:
        errors["reply_text"] = N_(
            "R2/R5: this major complaint is replied to by its dedicated replier %(replier)s", replier=replier
        )
    if "reply_text" in values and not _text(values, "reply_text"):
        errors["reply_text"] = N_("R1: record the reply given to the customer")
    spoken = values.get("reply_method") not in WRITTEN_REPLY_METHODS
    if spoken and not isinstance(values.get("customer_reached"), bool):
        errors["customer_reached"] = N_("R4/R6: say whether the customer was reached by phone or in person")
    if spoken and values.get("customer_reached") is False and not _text(values, "attempt_note"):
        errors["attempt_note"] = N_("R6: record the attempt (phone off, suspended, no other contact)")
    return errors or None


# R3: replies the customer receives in writing; they are reviewed and approved before sending.
WRITTEN_REPLY_METHODS = frozenset({"written", "email"})


@HANDLERS.validator("written_reply_review", fields=("review_approved", "review_note"))
def written_reply_review(task: TaskInput) -> Errors | None:
    """R3: the specialist department, the legal adviser and the supervisor each approve the
    written or e-mail reply or return it; a return says why, so the replier can revise it."""
    if task.submitted.get("review_approved") is False and not _text(task.submitted, "review_note"):
        return {"review_note": N_("R3: say why the written reply is returned, so the replier can revise it")}
    return None


@HANDLERS.validator("written_reply_sent", fields=("sent_reference",))
def written_reply_sent(task: TaskInput) -> Errors | None:
    """R3, R5: the approved reply is sent, with its proof (registered-post number, e-mail id),
    by the dedicated replier if the complaint has one."""
    errors: Errors = {}
    replier = task.task_data.get("dedicated_replier")
    if replier and task.actor != replier:
        errors["sent_reference"] = N_(
            "R2/R5: this complaint's reply is sent by its dedicated replier %(replier)s", replier=replier
        )
    if not _text(task.submitted, "sent_reference"):
        errors["sent_reference"] = N_("R3: record how the approved reply was sent (post number or e-mail id)")
    return errors or None


R6_FURTHER_ATTEMPTS = 3
R6_SPACING = timedelta(hours=3)


@HANDLERS.validator("contact_attempt")
def contact_attempt(task: TaskInput) -> Errors | None:
    """R6, L6: a further attempt to reach a customer who could not be reached.

    A failed attempt is at least 3 hours after the previous one (checked against the engine
    clock; ``contact_attempts`` in the task data logs every attempt, the first being the
    reply attempt, all failed so far). The spacing spreads the failed tries (尝试回复间隔时间在
    3小时以上); a customer reached sooner (they picked up, or called back) is recorded at once
    (issue 11 item 2). The customer may be declared unreachable only at the third further
    attempt or later, not when reached, and with the outcome recorded. (Whether the three
    attempts fell within the 48 hours is measured, not refused: L6 in ``deadlines``.)
    """
    values = task.submitted
    errors: Errors = {}
    attempts = [datetime.fromisoformat(at) for at in task.task_data.get("contact_attempts") or []]
    if attempts and values.get("customer_reached") is not True:
        earliest = max(attempts) + R6_SPACING
        if task.now < earliest:
            errors["attempt_note"] = N_(
                "R6: failed attempts are at least 3 hours apart: the next one from %(earliest)s",
                earliest=earliest.isoformat(),
            )
    if values.get("declare_unreachable") is True:
        further = len(attempts)  # the earlier further attempts plus this one
        if values.get("customer_reached") is True:
            errors["declare_unreachable"] = N_("R6: the customer was reached")
        elif further < R6_FURTHER_ATTEMPTS:
            errors["declare_unreachable"] = N_(
                "R6: at least %(attempts)s further attempts before declaring the customer "
                "unreachable (this is attempt %(further)s)",
                attempts=R6_FURTHER_ATTEMPTS,
                further=further,
            )
        if not _text(values, "unreachable_outcome"):
            errors["unreachable_outcome"] = N_(
                "R6: record the outcome (how the result was left for the customer)"
            )
    return errors or None


@HANDLERS.validator("return_visit")
def return_visit(task: TaskInput) -> Errors | None:
    """V1, V2, H3, H4: the return visit records the customer's opinion; dissatisfaction its reason.

    H4: for a complaint the department marked as likely to be disputed later
    (``dispute_likely`` on the work-order reply), a satisfied customer's agreement is kept as
    evidence (``agreement_evidence``: a recording reference or the SHA-256 of an uploaded file).
    """
    values = task.submitted
    errors: Errors = {}
    if (
        task.task_data.get("dispute_likely") is True
        and values.get("satisfied") is True
        and not _refs(values, "agreement_evidence")
    ):
        errors["agreement_evidence"] = N_(
            "H4: this complaint is likely to be disputed: keep evidence of the customer's agreement "
            "(a recording reference or the SHA-256 of an uploaded file)"
        )
    if "customer_opinion" in values and not _text(values, "customer_opinion"):
        errors["customer_opinion"] = N_("V2: record the customer's opinion of the result")
    if values.get("satisfied") is False and not _text(values, "dissatisfaction_reason"):
        errors["dissatisfaction_reason"] = N_(
            "V1/H3: record why the customer is dissatisfied (needed to judge a second dispatch)"
        )
    return errors or None


def _check_batch_handler(errors: Errors, values: Mapping[str, Any], task: TaskInput) -> None:
    """T4: one dedicated person follows the whole batch: named on its first complaint, kept on
    every later one (the record of the batch tag says who)."""
    handler = _text(values, "batch_handler")
    if not handler:
        errors["batch_handler"] = N_("T4: a batch complaint needs one dedicated handler (user name)")
        return
    tag = task.task_data.get("batch_tag")
    if not tag or task.connection is None:
        return
    instance = records.find_by_number(task.connection, task.task_data.get("complaint_no") or "")
    following = records.batch_handler_of(
        task.connection, tag, besides=instance.instance_id if instance is not None else None
    )
    if following is not None and following != handler:
        errors["batch_handler"] = N_(
            "T4: batch %(tag)s is followed by %(handler)s: one dedicated person for the whole batch",
            tag=tag,
            handler=following,
        )


@HANDLERS.validator("dissatisfaction_analysis")
def dissatisfaction_analysis(task: TaskInput) -> Errors | None:
    """V1, H3, A4: after a dissatisfied return visit the centre calms the customer and analyses.

    The customer was calmed first (V1, A4); the analysis of the reason is written down (H3);
    the judgement is one of H3's three outcomes: ``not_solved`` (the complaint was in fact
    not properly solved: second dispatch, urgent re-handling), ``unreasonable`` (无理客户:
    closed with the judgement, which states its grounds) or ``explained`` (properly solved,
    the customer still dissatisfied: explained again, what was said recorded, and the
    supervisor decides the closing).
    """
    values = task.submitted
    errors: Errors = {}
    if values.get("customer_calmed") is not True:
        errors["customer_calmed"] = N_("V1: calm the customer first, then decide on a second dispatch")
    if not _text(values, "analysis"):
        errors["analysis"] = N_("H3: analyse why the customer is dissatisfied")
    if values.get("judgement") == "unreasonable" and not _text(values, "unreasonable_grounds"):
        errors["unreasonable_grounds"] = N_("H3: state why the customer's demand is unreasonable")
    if values.get("judgement") == "explained" and not _text(values, "explanation"):
        errors["explanation"] = N_("H3: explain the result to the customer again and record what was said")
    return errors or None


@HANDLERS.validator("closing_decision")
def closing_decision(task: TaskInput) -> Errors | None:
    """H3, V1: the supervisor closes a properly solved complaint the customer does not accept,
    or refuses with a reason (the complaint is then dispatched again)."""
    values = task.submitted
    if values.get("closing_approved") is False and not _text(values, "closing_note"):
        return {"closing_note": N_("H3: say why the complaint may not close (it is dispatched again)")}
    return None


@HANDLERS.validator("outside_report", fields=("materials_reviewed",))
def outside_report(task: TaskInput) -> Errors | None:
    """T7, E4: the escalation desk submits the reviewed materials to the outside unit.

    The materials were reviewed against the E1-E2 structure before submission (E4).
    """
    if task.submitted.get("materials_reviewed") is not True:
        return {"materials_reviewed": N_("E4: review the reply materials (E1-E2) before submitting them")}
    return None


@HANDLERS.validator("impact_reassessment")
def impact_reassessment(task: TaskInput) -> Errors | None:
    """H6: the supervisor's recurring impact assessment; a growing impact is reported upward again."""
    values = task.submitted
    if values.get("impact_trend") == "growing" and not _text(values, "reported_again_to"):
        return {
            "reported_again_to": N_("H6: a growing impact is reported upward again, level by level: to whom")
        }
    return None
