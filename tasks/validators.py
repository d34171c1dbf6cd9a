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

from engine.handlers import HandlerRegistry, TaskInput
from engine.messages import N_
from tasks import config as cfg
from tasks import customer_reply_validators, records, work_order_validators
from tasks.customer_reply_validators import WRITTEN_REPLY_METHODS as WRITTEN_REPLY_METHODS
from tasks.customer_reply_validators import contact_attempt as contact_attempt
from tasks.customer_reply_validators import customer_reply as customer_reply
from tasks.customer_reply_validators import written_reply_review as written_reply_review
from tasks.customer_reply_validators import written_reply_sent as written_reply_sent
from tasks.form_checks import Errors, check_code, refs, text
from tasks.work_order_validators import extension_decision as extension_decision
from tasks.work_order_validators import reply_review as reply_review
from tasks.work_order_validators import work_order_reply as work_order_reply

HANDLERS = HandlerRegistry()
"""Every user-task validator of the procedure (this module's, the work-order reply's in
``tasks.work_order_validators`` and the customer reply's in ``tasks.customer_reply_validators``);
``tasks.registry.build_registry`` gathers them."""


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
    check_code(errors, values, "channel", cfg.codes(config, "channels"), "C1")
    check_code(errors, values, "business_category", cfg.codes(config, "business_categories"), "C2")
    check_code(errors, values, "nature_category", cfg.codes(config, "nature_categories"), "C3")
    types = list(values.get("complaint_types") or [])
    _check_types(errors, types, cfg.codes(config, "complaint_types"))
    _check_channel(errors, values, types, task)
    _check_first_contact(errors, values)
    if "escalated" in types:
        _check_outside_deadline(errors, values)
    if values.get("escalation_risk") is True and not text(values, "escalation_risk_reported_to"):
        errors["escalation_risk_reported_to"] = N_("A3: report a customer likely to escalate upward: to whom")
    if "batch" in types:
        _check_batch(errors, values, config)
    if task.connection is not None:
        _check_repeat(errors, values, types, task.connection)
    return errors or None


def _check_types(errors: Errors, types: list[str], known_types: list[str]) -> None:
    """C5: at least one known type flag; ``ordinary`` stands alone."""
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


def _check_channel(errors: Errors, values: Mapping[str, Any], types: list[str], task: TaskInput) -> None:
    """T5, C1/C5, A5: what the channel demands: the desk's transfers come on an escalation
    channel, an escalation channel makes the complaint escalated, the channel's A5 fields."""
    channel = cfg.channel(task.config, values.get("channel", ""))
    if task.task_data.get("received_by") == ESCALATION_DESK and not (channel or {}).get("escalation"):
        errors["channel"] = N_(
            "T5: the escalation desk records transfers from outside units: choose the transferring "
            "channel (MIIT, group company, administration, consumer association, media)"
        )
    if channel is None:
        return
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


def _check_first_contact(errors: Errors, values: Mapping[str, Any]) -> None:
    """A2: a complaint resolved at first contact records how, and that the customer accepted."""
    if values.get("first_contact_resolved") is not True:
        return
    if not text(values, "first_contact_resolution"):
        errors["first_contact_resolution"] = N_(
            "A2: record how the complaint was resolved on the spot (what was explained or done)"
        )
    if values.get("customer_accepted") is not True:
        errors["customer_accepted"] = N_(
            "A2: a complaint is complete at first contact only if the customer accepted the "
            "resolution; otherwise record it and leave it to dispatch"
        )


def _check_outside_deadline(errors: Errors, values: Mapping[str, Any]) -> None:
    """T6: an escalated complaint carries the outside unit's deadline, an instant with its offset."""
    outside = text(values, "outside_deadline")
    try:
        parsed = datetime.fromisoformat(outside) if outside else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors["outside_deadline"] = N_(
            "T6: an escalated complaint carries the outside unit's deadline, e.g. 2026-11-29T17:00+08:00"
        )


def _check_batch(errors: Errors, values: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """T4: a batch complaint carries its tag and names the configured departments told at once."""
    if not text(values, "batch_tag"):
        errors["batch_tag"] = N_("T4: tag the batch, so every work order of it carries the same tag")
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


def _check_repeat(errors: Errors, values: Mapping[str, Any], types: list[str], connection: Any) -> None:
    """T2, T3: the link to an earlier complaint of the same customer (see complaint_record)."""
    number = text(values, "repeat_of")
    if number:
        earlier = records.find_by_number(connection, number)
        if earlier is None:
            errors["repeat_of"] = N_("T2/T3: there is no complaint %(number)s", number=number)
        elif earlier.status != "open":
            if "repeat" not in types and "complaint_types" not in errors:
                errors["complaint_types"] = N_(
                    "T3: a complaint about %(number)s's result is a repeat complaint", number=number
                )
            if not text(values, "repeat_reason"):
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
            if not text(values, field):
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
    if not text(values, "reported_upward_to"):
        errors["reported_upward_to"] = N_("H6: a complaint of serious impact is reported upward: to whom")
    if not values.get("coordinated_with"):
        errors["coordinated_with"] = N_("H6: name whom the handling is coordinated with (regulators, ...)")
    if not text(values, "impact_assessment"):
        errors["impact_assessment"] = N_("H6: assess the impact (who is harmed, how widely, how it may grow)")


@HANDLERS.validator("plan_approval")
def plan_approval(task: TaskInput) -> Errors | None:
    """T1: the supervisor approves a major complaint's plan and reports it on to the next level
    (level by level), or refuses it saying what to change."""
    values = task.submitted
    if values.get("plan_approved") is True and not text(values, "reported_onward_to"):
        return {"reported_onward_to": N_("T1: report the major complaint on to the next level: to whom")}
    if values.get("plan_approved") is False and not text(values, "approval_note"):
        return {"approval_note": N_("T1: say what to change in the plan")}
    return None


@HANDLERS.validator("plan_revision")
def plan_revision(task: TaskInput) -> Errors | None:
    """T1: a revised plan must differ from the refused one."""
    before = str(task.task_data.get("handling_plan") or "").strip()
    if text(task.submitted, "handling_plan") and text(task.submitted, "handling_plan") == before:
        return {"handling_plan": N_("T1: the plan is unchanged; revise it as the supervisor asked")}
    return None


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
        and not refs(values, "agreement_evidence")
    ):
        errors["agreement_evidence"] = N_(
            "H4: this complaint is likely to be disputed: keep evidence of the customer's agreement "
            "(a recording reference or the SHA-256 of an uploaded file)"
        )
    if "customer_opinion" in values and not text(values, "customer_opinion"):
        errors["customer_opinion"] = N_("V2: record the customer's opinion of the result")
    if values.get("satisfied") is False and not text(values, "dissatisfaction_reason"):
        errors["dissatisfaction_reason"] = N_(
            "V1/H3: record why the customer is dissatisfied (needed to judge a second dispatch)"
        )
    return errors or None


def _check_batch_handler(errors: Errors, values: Mapping[str, Any], task: TaskInput) -> None:
    """T4: one dedicated person follows the whole batch: named on its first complaint, kept on
    every later one (the record of the batch tag says who)."""
    handler = text(values, "batch_handler")
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
    if not text(values, "analysis"):
        errors["analysis"] = N_("H3: analyse why the customer is dissatisfied")
    if values.get("judgement") == "unreasonable" and not text(values, "unreasonable_grounds"):
        errors["unreasonable_grounds"] = N_("H3: state why the customer's demand is unreasonable")
    if values.get("judgement") == "explained" and not text(values, "explanation"):
        errors["explanation"] = N_("H3: explain the result to the customer again and record what was said")
    return errors or None


@HANDLERS.validator("closing_decision")
def closing_decision(task: TaskInput) -> Errors | None:
    """H3, V1: the supervisor closes a properly solved complaint the customer does not accept,
    or refuses with a reason (the complaint is then dispatched again)."""
    values = task.submitted
    if values.get("closing_approved") is False and not text(values, "closing_note"):
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
    if values.get("impact_trend") == "growing" and not text(values, "reported_again_to"):
        return {
            "reported_again_to": N_("H6: a growing impact is reported upward again, level by level: to whom")
        }
    return None


HANDLERS.include(work_order_validators.HANDLERS)
HANDLERS.include(customer_reply_validators.HANDLERS)
