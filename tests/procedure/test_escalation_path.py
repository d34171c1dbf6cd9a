"""T5, T6, T7 (issue 10, item 2): an escalated transfer takes the escalation path right after
first contact, so the one T7 timer runs from the receipt of the transfer to the report back;
review and dispatch are called inside the path, and what they raise (the L2 supervisor alert,
the H6 impact watch) still reaches the map. Real bundle, simulated time from Friday
2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from tests.procedure import support
from tests.procedure.support import (
    CS_CENTER,
    SUPERVISOR,
    at,
    breaches,
    clock_rounds,
    complaint_row,
    complete,
    iso,
    open_elements,
    open_task,
)

OUTSIDE = "2026-11-27T15:00:00+08:00"  # the outside unit's deadline on the order: 6 h after receipt
SUBMISSION = {
    "materials_reviewed": True,
    "submitted_to": "通信管理局 Communications administration",
    "submission_summary": "处理结果及客户态度 Result and the customer's position",
}


def transfer(engine, **changes) -> int:
    """T5: the escalation desk records a transfer from the communications administration at 09:00."""
    instance_id = engine.start(actor="desk", data={"received_by": "escalation_desk"}).instance_id
    record = support.record(channel="miit", complaint_types=["escalated"], outside_deadline=OUTSIDE)
    record.update(changes)
    complete(engine, instance_id, "task_record_complaint", record, actor="desk")
    return instance_id


def test_t7_runs_from_the_receipt_and_breaches_at_the_outside_deadline_while_the_order_is_in_handling(
    engine, clock
):
    """T7, L7: the T7 clock starts at the receipt (09:00), not at dispatch; the order waits at
    dispatch and then in handling; at 15:00 exactly nothing fires, one second later the breach
    is recorded against the 15:00 due while the department still holds the order, and the
    report made later is measured missed on the same clock."""
    instance_id = transfer(engine)
    review = open_task(engine, instance_id, "task_review_dispatch")
    assert (review.candidate_group, review.due_at) == (CS_CENTER, at(27, 9, 30)), "L2: urgent, 30 min"
    t7 = clock_rounds(engine, instance_id)[("T7", 1)]
    assert (t7.status, t7.started_at, t7.due_at) == ("running", at(27, 9), at(27, 15)), "armed at receipt"

    clock.set(at(27, 9, 20))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    handling = open_task(engine, instance_id, "task_handle_order")
    assert handling.due_at == at(27, 15), "T6: the order's deadline is the outside unit's (earlier than 24 h)"

    clock.set(at(27, 15))
    engine.fire_all_due()
    assert [b["clock"] for b in breaches(engine, instance_id)] == [], "on the due instant nothing fires yet"
    clock.set(at(27, 15, 0, 1))
    engine.fire_all_due()
    t7_breaches = [b for b in breaches(engine, instance_id) if b["clock"] == "T7"]
    assert t7_breaches == [{"clock": "T7", "due": at(27, 15), "at": at(27, 15, 0, 1), "late_by_s": 1.0}]
    assert "task_handle_order" in open_elements(engine, instance_id), "the path carries on in handling"
    assert "task_report_outside" not in open_elements(engine, instance_id), "not yet at the last task"
    t7 = clock_rounds(engine, instance_id)[("T7", 1)]
    assert (t7.status, t7.started_at, t7.due_at) == ("running", at(27, 9), at(27, 15)), "overdue, not stopped"

    # The path goes on to the report back, which stops the clock: missed by the time it took.
    complete(
        engine,
        instance_id,
        "task_handle_order",
        support.escalated_work_order_reply(miit_feedback_form="FB-2026-002"),
    )
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    clock.set(at(27, 17))
    complete(engine, instance_id, "task_report_outside", SUBMISSION)
    outcome = support.deadlines(engine, instance_id)["T7"]
    assert (outcome["due"], outcome["met"], outcome["late_by_s"]) == (iso(27, 15), False, 7200.0)
    t7 = clock_rounds(engine, instance_id)[("T7", 1)]
    assert (t7.status, t7.started_at, t7.stopped_at) == ("missed", at(27, 9), at(27, 17))
    assert complaint_row(engine, instance_id).outcome == "closed"


def test_t7_breaches_while_the_transfer_still_waits_for_dispatch_and_the_l2_alert_reaches_the_map(
    engine, clock
):
    """T7, L2: nobody dispatches; the L2 timer (09:30) alerts the supervisor from inside the
    escalation path (the signal reaches the map's supervision subprocess), and the T7 timer
    records its breach at the outside deadline with the order still undispatched."""
    instance_id = transfer(engine)
    clock.set(at(27, 9, 30, 1))
    engine.fire_all_due()
    assert open_task(engine, instance_id, "task_dispatch_breach_alert").candidate_group == SUPERVISOR
    clock.set(at(27, 15, 0, 1))
    engine.fire_all_due()
    assert [(b["clock"], b["due"]) for b in breaches(engine, instance_id)] == [
        ("L2", at(27, 9, 30)),
        ("T7", at(27, 15)),
    ]
    assert open_elements(engine, instance_id) == ["task_dispatch_breach_alert", "task_review_dispatch"]


def test_h6_an_escalated_complaint_of_serious_impact_is_watched_from_its_dispatch(engine, clock):
    """H6: the dispatch on the escalation path raises the map's impact watch: the supervisor
    assesses the impact 24 hours after the dispatch, beside the handling."""
    instance_id = transfer(engine, outside_deadline="2026-11-30T12:00:00+08:00")
    clock.set(at(27, 9, 20))
    serious = {
        "serious_impact": True,
        "reported_upward_to": "分公司总经理 Branch GM",
        "coordinated_with": ["regulator"],
        "impact_assessment": "全区断网 District-wide outage",
    }
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(**serious))
    clock.set(at(28, 9, 19))
    engine.fire_all_due()
    assert "task_assess_impact" not in open_elements(engine, instance_id)
    clock.set(at(28, 9, 20, 1))
    engine.fire_all_due()
    assert open_task(engine, instance_id, "task_assess_impact").candidate_group == SUPERVISOR
    assert "task_handle_order" in open_elements(engine, instance_id)


# ----------------------------------------------------------------------------- issue 11 item 1

RESOLVED = {
    "first_contact_resolved": True,
    "first_contact_resolution": "核实为欠费停机，缴费后已恢复 Suspended for arrears, restored on payment",
    "customer_accepted": True,
}
LEVEL_REPORT = {
    "reported_upward_to": "分管副总→省公司 Deputy GM, then the province",
    "report_summary": "全区断网投诉，当场解释并恢复 District outage complaint, explained and restored",
}


def test_t7_an_escalated_transfer_resolved_at_first_contact_is_still_reported_back_on_its_clock(
    engine, clock
):
    """T7, A2: resolved on the spot, the transfer is not dispatched, but the escalation desk
    reports back to the outside unit under the T7 clock (running from the receipt, due at the
    outside deadline); only then does it close, as resolved at first contact."""
    instance_id = transfer(engine, **RESOLVED)
    report = open_task(engine, instance_id, "task_report_outside")
    assert (report.candidate_group, report.due_at) == ("escalation_desk", at(27, 15))
    assert open_elements(engine, instance_id) == ["task_report_outside"], "no review, no dispatch"
    assert complaint_row(engine, instance_id).status == "open", "not closed before the report back"
    t7 = clock_rounds(engine, instance_id)[("T7", 1)]
    assert (t7.status, t7.started_at, t7.due_at) == ("running", at(27, 9), at(27, 15))

    clock.set(at(27, 10, 30))
    assert complete(engine, instance_id, "task_report_outside", SUBMISSION).status == "completed"
    data = engine.instance_data(instance_id)
    assert (data["submitted_to"], data["closure"]["outcome"]) == (
        SUBMISSION["submitted_to"],
        "resolved_at_first_contact",
    )
    t7 = clock_rounds(engine, instance_id)[("T7", 1)]
    assert (t7.status, t7.stopped_at) == ("met", at(27, 10, 30))
    row = complaint_row(engine, instance_id)
    assert (row.status, row.outcome) == ("closed", "resolved_at_first_contact")
    assert breaches(engine, instance_id) == []


def test_t7_an_escalated_transfer_resolved_at_first_contact_but_reported_late_breaches_t7(engine, clock):
    """T7, L7: the report back after the outside deadline: the breach is recorded at 15:00:01
    and the clock is missed by the delay."""
    instance_id = transfer(engine, **RESOLVED)
    clock.set(at(27, 15, 0, 1))
    engine.fire_all_due()
    assert [(b["clock"], b["due"]) for b in breaches(engine, instance_id)] == [("T7", at(27, 15))]
    clock.set(at(27, 16))
    complete(engine, instance_id, "task_report_outside", SUBMISSION)
    outcome = support.deadlines(engine, instance_id)["T7"]
    assert (outcome["met"], outcome["late_by_s"]) == (False, 3600.0)
    assert complaint_row(engine, instance_id).outcome == "resolved_at_first_contact"


def test_t1_a_major_complaint_resolved_at_first_contact_is_still_reported_level_by_level(engine, clock):
    """T1, A2: the agent who took the major complaint reports it upward (to whom, what) before
    it closes as resolved at first contact; the report is refused without naming to whom."""
    instance_id = engine.start(actor="ivy").instance_id
    complete(
        engine, instance_id, "task_record_complaint", support.record(complaint_types=["major"], **RESOLVED)
    )
    report = open_task(engine, instance_id, "task_report_level_by_level")
    assert (report.candidate_group, report.due_at) == ("intake", None)
    assert open_elements(engine, instance_id) == ["task_report_level_by_level"], "not dispatched"
    assert complaint_row(engine, instance_id).status == "open"
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_report_level_by_level", {"report_summary": "x"})
    assert "reported_upward_to" in refused.value.field_errors

    clock.set(at(27, 9, 10))
    result = complete(engine, instance_id, "task_report_level_by_level", LEVEL_REPORT, actor="ivy")
    assert result.status == "completed"
    data = engine.instance_data(instance_id)
    assert data["reported_upward_to"] == LEVEL_REPORT["reported_upward_to"]
    assert (data["closure"]["outcome"], data["closure"]["closed_at"]) == (
        "resolved_at_first_contact",
        iso(27, 9, 10),
    )
    assert complaint_row(engine, instance_id).outcome == "resolved_at_first_contact"


def test_t1_t7_a_major_escalated_transfer_resolved_at_first_contact_gets_both_reports(engine, clock):
    """T1 then T7: the desk reports upward level by level, then reports back to the outside unit."""
    instance_id = transfer(engine, complaint_types=["escalated", "major"], **RESOLVED)
    assert open_task(engine, instance_id, "task_report_level_by_level").candidate_group == "escalation_desk"
    complete(engine, instance_id, "task_report_level_by_level", LEVEL_REPORT, actor="desk")
    assert open_task(engine, instance_id, "task_report_outside").due_at == at(27, 15)
    complete(engine, instance_id, "task_report_outside", SUBMISSION)
    assert complaint_row(engine, instance_id).outcome == "resolved_at_first_contact"


def test_a2_an_ordinary_complaint_resolved_at_first_contact_still_closes_at_once(engine, clock):
    """A2: first-contact resolution stays possible: no report, no dispatch, closed at once."""
    instance_id = engine.start(actor="ivy").instance_id
    result = complete(engine, instance_id, "task_record_complaint", support.record(**RESOLVED))
    assert result.status == "completed"
    assert open_elements(engine, instance_id) == []
    assert complaint_row(engine, instance_id).outcome == "resolved_at_first_contact"
