"""Major (T1, R2, R5) and escalated (T6, E1, E2, H7) complaints, tariff disputes (H2, H5), evidence (H4).

Clock: Friday 2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

import pytest

from engine.errors import Forbidden, InvalidInput
from tests.procedure import support
from tests.procedure.support import (
    CS_CENTER,
    DEPARTMENT,
    SUPERVISOR,
    at,
    breaches,
    complaint_row,
    complete,
    iso,
    open_elements,
    open_task,
)

OUTSIDE = "2026-11-28T12:00+08:00"


def test_t1_r2_r5_major_complaint_plan_and_only_the_dedicated_replier_replies(engine, clock):
    """T1: report upward, response script, handling plan at dispatch; the supervisor approves the
    plan (or it is revised) and reports it on to the next level before the order goes out;
    R2/R5: the named replier is the only one who may complete the reply to the customer."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(complaint_types=["major"]))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    assert set(refused.value.field_errors) == {
        "reported_upward_to",
        "emergency_script",
        "handling_plan",
        "dedicated_replier",
    }
    assert refused.value.field_errors["emergency_script"].startswith("T1:")

    clock.set(at(27, 9, 10))
    complete(
        engine, instance_id, "task_review_dispatch", support.dispatch(**support.major_plan("li.replier"))
    )
    # T1: the supervisor approves the plan before the order goes out, and reports it on.
    approval = open_task(engine, instance_id, "task_approve_plan")
    assert (approval.candidate_group, approval.priority) == (SUPERVISOR, 10)
    assert complaint_row(engine, instance_id).stage == "plan_approval"
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_approve_plan", {"plan_approved": False})
    assert refused.value.field_errors["approval_note"].startswith("T1:")
    clock.set(at(27, 9, 15))
    complete(
        engine,
        instance_id,
        "task_approve_plan",
        {"plan_approved": False, "approval_note": "补充备用方案 Add a fallback"},
    )
    revise = open_task(engine, instance_id, "task_revise_plan")
    assert revise.candidate_group == CS_CENTER
    with pytest.raises(InvalidInput) as refused:
        complete(
            engine, instance_id, "task_revise_plan", {"handling_plan": support.major_plan()["handling_plan"]}
        )
    assert refused.value.field_errors["handling_plan"].startswith("T1:")
    complete(
        engine,
        instance_id,
        "task_revise_plan",
        {"handling_plan": "网络部牵头，备用光缆 Network leads, spare fibre"},
    )
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_approve_plan", {"plan_approved": True})
    assert refused.value.field_errors["reported_onward_to"].startswith("T1:")
    clock.set(at(27, 9, 40))
    complete(engine, instance_id, "task_approve_plan", support.plan_approved())
    data = engine.instance_data(instance_id)
    assert [(a["approved"], a["at"]) for a in data["plan_approvals"]] == [
        (False, iso(27, 9, 15)),
        (True, iso(27, 9, 40)),
    ]
    l2 = support.deadlines(engine, instance_id)["L2"]
    assert l2["met"] is True, "L2 is the centre's review, within 30 minutes"
    handling = open_task(engine, instance_id, "task_handle_order")
    assert handling.due_at == at(28, 9, 40), "L4: 24 h from the approved dispatch"
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    reply = open_task(engine, instance_id, "task_reply_customer")
    assert (reply.candidate_group, reply.assignee) == (DEPARTMENT, "li.replier")  # R5: assigned to them
    with pytest.raises(Forbidden):
        engine.complete_task(
            reply.id, actor="someone.else", data=support.customer_reply(), actor_groups=[DEPARTMENT]
        )
    # Released and taken by a colleague, the reply is still refused: the validator checks too.
    engine.unclaim(reply.id, actor="li.replier")
    engine.claim(reply.id, actor="someone.else", actor_groups=[DEPARTMENT])
    with pytest.raises(InvalidInput) as refused:
        engine.complete_task(
            reply.id, actor="someone.else", data=support.customer_reply(), actor_groups=[DEPARTMENT]
        )
    assert refused.value.field_errors["reply_text"] == (
        "R2/R5: this major complaint is replied to by its dedicated replier li.replier"
    )
    engine.assign(reply.id, actor="supervisor", assignee="li.replier")
    engine.complete_task(
        reply.id, actor="li.replier", data=support.customer_reply(), actor_groups=[DEPARTMENT]
    )
    assert open_elements(engine, instance_id) == ["task_return_visit"]


def escalated(engine, **changes) -> int:
    instance_id = engine.start(actor="desk").instance_id
    record = support.record(channel="miit", complaint_types=["escalated"], outside_deadline=OUTSIDE)
    record.update(changes)
    complete(engine, instance_id, "task_record_complaint", record)
    return instance_id


def test_t6_escalated_order_carries_a_deadline_no_later_than_the_outside_units(engine, clock):
    """T6, L4: an escalated complaint needs the outside deadline; the order's handling deadline
    is the urgent figure (24 h) or the outside deadline, whichever is earlier."""
    instance_id = engine.start(actor="desk").instance_id
    with pytest.raises(InvalidInput) as refused:
        complete(
            engine,
            instance_id,
            "task_record_complaint",
            support.record(channel="miit", complaint_types=["escalated"]),
        )
    assert refused.value.field_errors["outside_deadline"].startswith("T6:")

    instance_id = escalated(engine)
    clock.set(at(27, 9, 15))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    assert open_task(engine, instance_id, "task_handle_order").due_at == at(28, 9, 15)

    later = escalated(engine, customer_phone="13911112222", outside_deadline="2026-11-27T20:00+08:00")
    complete(engine, later, "task_review_dispatch", support.dispatch())
    assert engine.instance_data(later)["handling_due"] == iso(27, 20)
    assert open_task(engine, later, "task_handle_order").due_at == at(27, 20)


def test_e1_e2_h7_escalated_reply_structure(engine, clock):
    """E1: result first (responsible? which department); E2: handling, the earlier complaint to a
    government body with that body's proof that it accepted it, then the account in the original's
    order (first complaint, after the transfer); H7: the MIIT feedback form."""
    instance_id = escalated(engine)
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    assert {field: message[:3] for field, message in refused.value.field_errors.items()} == {
        "company_responsible": "E1:",
        "handling_summary": "E2:",
        "earlier_authority_complaint": "E2:",
        "first_complaint_at": "E2:",
        "first_findings": "E2:",
        "first_acceptance": "E2:",
        "transfer_findings": "E2:",
        "final_opinion": "E2:",
        "miit_feedback_form": "H7:",
    }
    with pytest.raises(InvalidInput) as refused:
        complete(
            engine,
            instance_id,
            "task_handle_order",
            support.escalated_work_order_reply(responsible_department="", earlier_authority_complaint=True),
        )
    assert refused.value.field_errors == {
        "responsible_department": "E1: name the responsible department",
        "authority_intake_proof": (
            "E2: attach the proof that the government body or consumer association accepted this complaint"
        ),
    }
    complete(
        engine,
        instance_id,
        "task_handle_order",
        support.escalated_work_order_reply(
            earlier_authority_complaint=True,
            authority_intake_proof="sha256:9f86d081884c7d659a2feaa0c55ad015",
        ),
    )
    proof = engine.instance_data(instance_id)["authority_intake_proof"]
    assert proof == "sha256:9f86d081884c7d659a2feaa0c55ad015"
    assert open_elements(engine, instance_id) == ["task_review_reply"]


def test_h2_h5_h4_tariff_dispute_verified_first_compensated_cash_with_a_reason(engine, clock):
    """H2: verify first; an over-charge is compensated as promised; H5: cash only with a reason;
    H4: evidence references are kept with the reply."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", support.work_order_reply(tariff_dispute=True))
    assert set(refused.value.field_errors) == {"tariff_verified", "overcharged"}
    with pytest.raises(InvalidInput) as refused:
        complete(
            engine,
            instance_id,
            "task_handle_order",
            support.work_order_reply(
                tariff_dispute=True,
                tariff_verified=True,
                overcharged=True,
                compensation_form="cash",
                compensation_detail="退还50元 Refund 50 yuan",
            ),
        )
    assert refused.value.field_errors == {"cash_reason": "H5: cash is only a supplement: say why cash"}
    complete(
        engine,
        instance_id,
        "task_handle_order",
        support.work_order_reply(
            tariff_dispute=True,
            tariff_verified=True,
            overcharged=True,
            compensation_form="fee_reduction",
            compensation_detail="减免当月月租 This month's fee waived",
            evidence_refs=["sha256:2c26b46b68ffc68ff99b453c1d304134"],
        ),
    )
    data = engine.instance_data(instance_id)
    assert (data["compensation_form"], data["evidence_refs"]) == (
        "fee_reduction",
        ["sha256:2c26b46b68ffc68ff99b453c1d304134"],
    )


def test_t5_t7_e4_v3_escalation_desk_reports_back_before_closing_and_the_deadline_is_measured(engine, clock):
    """T5, T7, E4, L7: a satisfied escalated complaint goes to the escalation desk, which reviews
    the materials and submits them to the outside unit; its deadline is a timer (breach recorded)
    and the submission is measured; then the complaint closes. V3: the centre replies to an
    escalated complaint itself (not the department) and return-visits it."""
    instance_id = escalated(engine)  # outside deadline Saturday 12:00
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(department="billing"))
    support.progress_told(engine, instance_id)
    assert open_task(engine, instance_id, "task_handle_order").candidate_group == "dept:billing"
    complete(engine, instance_id, "task_handle_order", support.escalated_work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    reply = open_task(engine, instance_id, "task_reply_customer")
    assert reply.candidate_group == "cs_center", "V3: the centre replies to an escalated complaint"
    with pytest.raises(Forbidden):
        engine.complete_task(
            reply.id, actor="bill", data=support.customer_reply(), actor_groups=["dept:billing"]
        )
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    assert open_task(engine, instance_id, "task_return_visit").candidate_group == "cs_center"
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    report = open_task(engine, instance_id, "task_report_outside")
    assert (report.candidate_group, report.due_at) == ("escalation_desk", at(28, 12))

    clock.set(at(28, 12, 0, 1))
    engine.fire_all_due()
    assert [b["clock"] for b in breaches(engine, instance_id)] == ["T7"]
    submission = {
        "materials_reviewed": False,
        "submitted_to": "工信部 MIIT",
        "submission_summary": "已解决 Solved",
    }
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_report_outside", submission)
    assert refused.value.field_errors["materials_reviewed"].startswith("E4:")
    clock.set(at(28, 13))
    result = complete(engine, instance_id, "task_report_outside", {**submission, "materials_reviewed": True})
    assert result.status == "completed"
    t7 = support.deadlines(engine, instance_id)["T7"]
    assert (t7["due"], t7["met"], t7["late_by_s"]) == (iso(28, 12), False, 3600.0)
    assert complaint_row(engine, instance_id).outcome == "closed"


SUBMISSION = {
    "materials_reviewed": True,
    "submitted_to": "工信部 MIIT",
    "submission_summary": "处理结果及客户态度 Result and the customer's position",
}


def escalated_at_reply(engine, clock) -> int:
    """An escalated complaint whose reply the centre accepted on Friday at 11:00."""
    instance_id = escalated(engine)  # outside deadline Saturday 12:00
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    complete(engine, instance_id, "task_handle_order", support.escalated_work_order_reply())
    clock.set(at(27, 11))
    complete(engine, instance_id, "task_review_reply", support.review())
    return instance_id


def test_t7_an_escalated_complaint_of_an_unreasonable_customer_is_reported_back_before_closing(engine, clock):
    """T7, H3: the customer stays dissatisfied and is judged unreasonable: the escalation desk
    still reports back to the outside unit (on time: T7 met), then the complaint closes
    closed_dissatisfied with the judgement."""
    instance_id = escalated_at_reply(engine, clock)
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=False))
    complete(
        engine,
        instance_id,
        "task_analyse_dissatisfaction",
        support.analysis("unreasonable", unreasonable_grounds="要求赔偿十倍 Demands tenfold compensation"),
    )
    report = open_task(engine, instance_id, "task_report_outside")
    assert (report.candidate_group, report.due_at) == ("escalation_desk", at(28, 12))
    assert complaint_row(engine, instance_id).status == "open", "not closed before the report"

    clock.set(at(28, 11))
    assert complete(engine, instance_id, "task_report_outside", SUBMISSION).status == "completed"
    data = engine.instance_data(instance_id)
    t7 = support.deadlines(engine, instance_id)["T7"]
    assert (t7["met"], data["closure"]["outcome"], data["closure"]["judgement"]) == (
        True,
        "closed_dissatisfied",
        "unreasonable",
    )
    assert complaint_row(engine, instance_id).outcome == "closed_dissatisfied"


def test_t7_an_escalated_complaint_of_an_unreachable_customer_is_reported_back_before_closing(engine, clock):
    """T7, R6: the customer cannot be reached after the further attempts: the escalation desk
    reports back (late: T7 missed by 24 h, the breach recorded at the outside deadline), then
    the complaint closes closed_unreachable."""
    instance_id = escalated_at_reply(engine, clock)
    unreached = {"customer_reached": False, "attempt_note": "关机 Phone off"}
    complete(engine, instance_id, "task_reply_customer", support.customer_reply(**unreached))
    for hour in (14, 17, 20):
        clock.set(at(27, hour))
        complete(engine, instance_id, "task_retry_contact", unreached)
    clock.set(at(28, 9))
    complete(
        engine,
        instance_id,
        "task_retry_contact",
        {**unreached, "declare_unreachable": True, "unreachable_outcome": "短信告知 Result sent by SMS"},
    )
    assert open_elements(engine, instance_id) == ["task_report_outside"]
    clock.set(at(28, 12, 0, 1))
    engine.fire_all_due()
    assert [b["clock"] for b in breaches(engine, instance_id)] == ["T7"]

    clock.set(at(29, 12))
    assert complete(engine, instance_id, "task_report_outside", SUBMISSION).status == "completed"
    data = engine.instance_data(instance_id)
    assert (support.deadlines(engine, instance_id)["T7"]["late_by_s"], data["closure"]["outcome"]) == (
        86400.0,
        "closed_unreachable",
    )
    assert complaint_row(engine, instance_id).outcome == "closed_unreachable"


def test_t7_an_ordinary_complaint_closes_without_a_report(engine, clock):
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    assert complete(engine, instance_id, "task_return_visit", support.return_visit()).status == "completed"


def test_h6_serious_impact_is_reported_upward_coordinated_and_assessed_at_dispatch(engine, clock):
    """H6: serious harm or wide social impact: the dispatch names to whom it was reported upward,
    with whom the handling is coordinated and the impact assessment; nothing is dispatched
    without them, and they stay in the complaint's data."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_review_dispatch", support.dispatch(serious_impact=True))
    assert {field: error[:3] for field, error in refused.value.field_errors.items()} == {
        "reported_upward_to": "H6:",
        "coordinated_with": "H6:",
        "impact_assessment": "H6:",
    }
    assert open_elements(engine, instance_id) == ["task_review_dispatch"]
    serious = {
        "serious_impact": True,
        "reported_upward_to": "分公司总经理→省公司 Branch GM, then the province",
        "coordinated_with": ["regulator", "media"],
        "impact_assessment": "全区断网，媒体已关注 District-wide outage, press interested",
    }
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(**serious))
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    data = engine.instance_data(instance_id)
    assert {field: data[field] for field in serious} == serious


def test_t5_t6_the_escalation_desk_receives_a_transfer_at_its_own_entry(engine, clock):
    """T5: started from the desk's entry, the record is the desk's task (not intake's) and must
    be a transfer on an escalation channel; T6: the outside deadline is on the order, which is
    urgent (30-minute dispatch) and due no later than the outside unit's deadline."""
    instance_id = engine.start(actor="desk", data={"received_by": "escalation_desk"}).instance_id
    record = open_task(engine, instance_id, "task_record_complaint")
    assert record.candidate_group == "escalation_desk"
    with pytest.raises(Forbidden):
        engine.complete_task(record.id, actor="ivy", data=support.record(), actor_groups=["intake"])
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_record_complaint", support.record())
    assert refused.value.field_errors["channel"].startswith("T5:")

    outside = "2026-11-27T20:00:00+08:00"
    transfer = support.record(
        channel="consumer_association", complaint_types=["escalated"], outside_deadline=outside
    )
    complete(engine, instance_id, "task_record_complaint", transfer, actor="desk")
    review = open_task(engine, instance_id, "task_review_dispatch")
    assert (review.candidate_group, review.due_at, review.priority) == (CS_CENTER, at(27, 9, 30), 10)
    clock.set(at(27, 9, 20))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    handling = open_task(engine, instance_id, "task_handle_order")
    assert handling.due_at == at(27, 20), "T6: the outside deadline, earlier than 24 h"
    assert engine.instance_data(instance_id)["handling_due"] == outside
    assert complaint_row(engine, instance_id).channel == "consumer_association"


def test_t5_an_ordinary_start_stays_with_intake(engine):
    instance_id = engine.start(actor="ivy").instance_id
    assert open_task(engine, instance_id, "task_record_complaint").candidate_group == "intake"


def test_t7_guards_the_whole_escalation_path_and_breaches_while_the_complaint_waits_at_the_return_visit(
    engine, clock
):
    """T7, L7: one timer on the escalation path (sub_escalation_path) from its start to the report
    back: the outside unit's deadline (Saturday 12:00) passing while the complaint still waits at
    the return visit records the T7 breach there, once, and the visit stays open; the report made
    later is measured late on the same clock."""
    from tasks import warning_sweep

    instance_id = escalated_at_reply(engine, clock)
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    visit = open_task(engine, instance_id, "task_return_visit")
    assert visit.due_at == at(28, 12), "the path's T7 due is the due of each task on it"
    [t7] = [c for c in warning_sweep.running_clocks(engine, at(28, 11)) if c.clock == "T7"]
    assert (t7.due_at, t7.task_id) == (at(28, 12), visit.id)

    clock.set(at(28, 12))
    engine.fire_all_due()
    assert breaches(engine, instance_id) == [], "on the due instant itself nothing fires yet"
    clock.set(at(28, 12, 0, 1))
    engine.fire_all_due()
    assert breaches(engine, instance_id) == [
        {"clock": "T7", "due": at(28, 12), "at": at(28, 12, 0, 1), "late_by_s": 1.0}
    ]
    assert open_elements(engine, instance_id) == ["task_return_visit"], "the path carries on"

    clock.set(at(28, 12, 30))
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    clock.set(at(28, 13))
    engine.fire_all_due()
    complete(engine, instance_id, "task_report_outside", SUBMISSION)
    assert [b["clock"] for b in breaches(engine, instance_id)] == ["T7"], "one T7 timer, fired once"
    t7_outcome = support.deadlines(engine, instance_id)["T7"]
    assert (t7_outcome["due"], t7_outcome["met"], t7_outcome["late_by_s"]) == (iso(28, 12), False, 3600.0)
    assert complaint_row(engine, instance_id).outcome == "closed"
