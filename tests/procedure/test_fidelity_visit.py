"""Issue 11 items 6-9 on the real bundle in simulated time: H3's three outcomes and V1's second
dispatch through the centre's review (6), alerts that close themselves (7), the 越级 and 升级 flags
(8) and T4's dedicated handler (9).

Clock: Friday 2026-11-27 09:00 Shanghai. Ordinary handling is 48 h, urgent 24 h (L4
placeholders); urgent dispatch 30 min (L2).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import views
from engine.errors import InvalidInput
from engine.models import HumanTask
from tasks import case_file, records
from tests.procedure import support
from tests.procedure.support import (
    CS_CENTER,
    SUPERVISOR,
    at,
    complaint_row,
    complete,
    iso,
    open_elements,
    open_task,
)


def dissatisfied_at_the_return_visit(engine, clock) -> int:
    """Recorded 09:00, dispatched 10:00, replied and visited Saturday 09:00: dissatisfied."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)  # L1
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=False))
    return instance_id


EXPLAINED = {"explanation": "再次说明端口已更换、测速达标 Explained again: port replaced, speed test passed"}


# ----------------------------------------------------------------------------- item 6: H3, V1


def test_h3_properly_solved_but_dissatisfied_is_explained_again_and_closed_by_the_supervisor(engine, clock):
    """H3, V2: properly solved, the customer still dissatisfied: explained again (required,
    recorded), then the supervisor (not the centre) decides; the complaint closes
    closed_dissatisfied with judgement "explained" and the decision kept."""
    instance_id = dissatisfied_at_the_return_visit(engine, clock)
    clock.set(at(28, 10))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("explained"))
    assert refused.value.field_errors["explanation"].startswith("H3:")
    complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("explained", **EXPLAINED))

    decision = open_task(engine, instance_id, "task_decide_closing")
    assert decision.candidate_group == SUPERVISOR
    assert open_elements(engine, instance_id) == ["task_decide_closing"]
    assert complaint_row(engine, instance_id).stage == "closing_decision"
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_decide_closing", {"closing_approved": False})
    assert refused.value.field_errors["closing_note"].startswith("H3:")

    clock.set(at(28, 11))
    complete(
        engine, instance_id, "task_decide_closing", {"closing_approved": True, "closing_note": "同意 Agreed"}
    )
    data = engine.instance_data(instance_id)
    assert data["explanation"] == EXPLAINED["explanation"]
    assert data["closing_decision"] == {"approved": True, "note": "同意 Agreed", "at": iso(28, 11)}
    assert (data["closure"]["outcome"], data["closure"]["judgement"], data["closure"]["closed_at"]) == (
        "closed_dissatisfied",
        "explained",
        iso(28, 11),
    )
    row = complaint_row(engine, instance_id)
    assert (row.status, row.outcome, row.closed_at) == ("closed", "closed_dissatisfied", at(28, 11))
    assert "task_review_dispatch" not in [t.element_id for t in engine.open_tasks(instance_id)]


def test_h3_the_supervisor_refusing_to_close_sends_the_complaint_to_a_second_dispatch(engine, clock):
    """H3, V1, L2: a refusal (with its reason) is a second dispatch: urgent, through the
    centre's review, 30 minutes from the refusal; the decision is kept."""
    instance_id = dissatisfied_at_the_return_visit(engine, clock)
    complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("explained", **EXPLAINED))
    clock.set(at(28, 12))
    complete(
        engine,
        instance_id,
        "task_decide_closing",
        {"closing_approved": False, "closing_note": "端口问题仍在 The port still drops"},
    )
    review = open_task(engine, instance_id, "task_review_dispatch")
    assert (review.candidate_group, review.priority, review.due_at) == (CS_CENTER, 10, at(28, 12, 30))
    data = engine.instance_data(instance_id)
    assert (data["judgement"], data["dispatch_round"], data["order_type"]) == ("not_solved", 2, "urgent")
    assert data["closing_decision"]["approved"] is False
    assert complaint_row(engine, instance_id).status == "open"


def test_v1_a_second_review_left_past_its_30_minutes_alerts_the_supervisor(engine, clock):
    """V1, L2, L7: the second dispatch's review is on the urgent clock from the decision: at
    30 minutes and a second the breach is recorded (round 2) and the supervisor alerted; the
    review stays open with the centre."""
    instance_id = dissatisfied_at_the_return_visit(engine, clock)
    clock.set(at(28, 10))
    complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("not_solved"))
    clock.set(at(28, 10, 30))
    assert engine.fire_all_due() == 0
    clock.set(at(28, 10, 30, 1))
    assert engine.fire_all_due() == 1
    assert [(b["clock"], b["due"]) for b in support.breaches(engine, instance_id)] == [("L2", at(28, 10, 30))]
    alert = open_task(engine, instance_id, "task_dispatch_breach_alert")
    assert alert.candidate_group == SUPERVISOR
    assert open_task(engine, instance_id, "task_review_dispatch").candidate_group == CS_CENTER
    assert support.clock_rounds(engine, instance_id)[("L2", 2)].due_at == at(28, 10, 30)


# ----------------------------------------------------------------------------- item 9: T4


def batch_complaint(engine, phone: str) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(
        engine,
        instance_id,
        "task_record_complaint",
        support.record(customer_phone=phone, **support.batch("B-OLT-9")),
    )
    return instance_id


def test_t4_one_branch_complaint_handler_follows_the_whole_batch(engine, clock):
    """T4: every complaint of a batch is reviewed and dispatched by the branch's complaint
    handlers (投诉处理员, group complaint_handler, not the centre's queue, 30 minutes: H1);
    the one person named on the first follows the whole batch: a later complaint of the batch
    naming someone else is refused; the departments' work orders stay with their groups."""
    first = batch_complaint(engine, "13800138001")
    clock.set(at(27, 9, 5))
    second = batch_complaint(engine, "13800138002")
    for instance_id, due in ((first, at(27, 9, 30)), (second, at(27, 9, 35))):
        review = open_task(engine, instance_id, "task_review_dispatch")
        assert (review.candidate_group, review.due_at, review.priority) == ("complaint_handler", due, 10)

    clock.set(at(27, 9, 20))
    complete(engine, first, "task_review_dispatch", support.dispatch(batch_handler="zhao.handler"))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, second, "task_review_dispatch", support.dispatch(batch_handler="qian.other"))
    assert refused.value.field_errors["batch_handler"].startswith(
        "T4: batch B-OLT-9 is followed by zhao.handler"
    )
    complete(
        engine,
        second,
        "task_review_dispatch",
        support.dispatch(department="billing", batch_handler="zhao.handler"),
    )

    orders = {
        instance_id: open_task(engine, instance_id, "task_handle_order") for instance_id in (first, second)
    }
    assert {i: (o.candidate_group, o.assignee) for i, o in orders.items()} == {
        first: ("dept:network", None),
        second: ("dept:billing", None),
    }
    with engine.reader() as session:
        batch = records.batch_complaints(session.connection(), "B-OLT-9")
    assert [(row.instance_id, row.batch_handler, row.stage) for row in batch] == [
        (first, "zhao.handler", "handling"),
        (second, "zhao.handler", "handling"),
    ]


# ----------------------------------------------------------------------------- item 8: C5


def test_c5_a_customer_who_went_over_the_companys_head_is_urgent_without_a_transfer(engine, clock):
    """C5, H1, L2: 越级 on a phone complaint (no outside unit transferred it): urgent, reviewed
    within 30 minutes, the ordinary path (no escalation desk, no outside deadline); the record
    keeps the flag apart from 升级."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(complaint_types=["over_head"]))
    review = open_task(engine, instance_id, "task_review_dispatch")
    assert (review.candidate_group, review.due_at, review.priority) == (CS_CENTER, at(27, 9, 30), 10)
    row = complaint_row(engine, instance_id)
    assert (row.type_flags, row.priority, row.outside_due) == ("over_head", "urgent", None)
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    assert engine.instance_data(instance_id)["handling_due"] == iso(28, 9), "urgent L4: 24 h"


# ----------------------------------------------------------------------------- item 7: L2, L1 alerts


def case_steps(engine, instance_id: int, language: str = "en") -> list[tuple[str, str, str]]:
    """The case file's steps (who, what, headline) as the complaint page builds them."""
    runtime = engine.runtime(engine.instance(instance_id).deployment_id)
    with engine.reader() as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
    wording = case_file.Wording(
        runtime.forms, runtime.config, language, support.SHANGHAI, runtime.element_properties
    )
    built = case_file.build(views.history(engine, instance_id), rows, wording)
    return [(step.who, step.what, step.headline) for step in built.steps if step.kind == "alert_closed"]


def closed_by(engine, instance_id: int, element_id: str) -> list[tuple[str, str]]:
    """The commands whose audit event says they withdrew ``element_id`` (command, actor)."""
    return [
        (entry.command, entry.actor)
        for entry in views.history(engine, instance_id)
        if f"{element_id}:cancelled" in (entry.detail.get("closed") or [])
    ]


def test_l2_the_dispatch_overdue_alert_closes_itself_when_the_order_goes_out(engine, clock):
    """L2, L7, T1: the alert raised at 2 h + 1 s stays open while the supervisor's plan
    approval (T1) holds the order back; when the approved order goes out the alert closes
    itself, recorded as such (task row cancelled, the command's audit event, the case file)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(complaint_types=["major"]))
    clock.set(at(27, 9, 30, 1))
    assert engine.fire_all_due() == 1
    alert = open_task(engine, instance_id, "task_dispatch_breach_alert")
    assert (alert.candidate_group, alert.due_at) == (SUPERVISOR, None)
    clock.set(at(27, 9, 40))
    complete(
        engine, instance_id, "task_review_dispatch", support.dispatch(**support.major_plan()), actor="cathy"
    )
    assert open_elements(engine, instance_id) == ["task_approve_plan", "task_dispatch_breach_alert"]

    clock.set(at(27, 9, 50))
    complete(engine, instance_id, "task_approve_plan", support.plan_approved(), actor="sam")
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    closed = engine.task(alert.id)
    assert (closed.status, closed.completed_at) == ("cancelled", at(27, 9, 50))
    assert closed_by(engine, instance_id, "task_dispatch_breach_alert") == [("complete", "sam")]
    assert case_steps(engine, instance_id) == [
        ("sam", "Dispatch deadline breached", "the order went out: the alert closed itself (L2)")
    ]
    assert case_steps(engine, instance_id, "zh")[0][2] == "工单已发出，督办提醒已自动关闭"
    assert [(b["clock"], b["due"]) for b in support.breaches(engine, instance_id)] == [("L2", at(27, 9, 30))]


def test_l2_an_alert_the_supervisor_handled_first_is_not_closed_again(engine, clock):
    """L2: the supervisor supervised before the order went out: the alert is completed, and
    the dispatch closes nothing (no case-file step says it closed itself)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 11, 0, 1))
    engine.fire_all_due()
    complete(engine, instance_id, "task_dispatch_breach_alert", {"supervision_note": "已催 Chased"})
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    assert closed_by(engine, instance_id, "task_dispatch_breach_alert") == []
    assert case_steps(engine, instance_id) == []


def l1_alerted(engine, clock) -> int:
    """Recorded Friday 09:00, dispatched 10:00, nothing told: the L1 alert at Saturday 09:00:01."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(), actor="amy")
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    clock.set(at(28, 9, 0, 1))
    assert engine.fire_all_due() == 1
    return instance_id


def test_l1_the_first_reply_alert_closes_itself_when_the_progress_is_told(engine, clock):
    """L1, L7: the owner's alert closes itself the moment the department tells the customer the
    progress (the first reply); the breach stays recorded; the handling goes on."""
    instance_id = l1_alerted(engine, clock)
    alert = open_task(engine, instance_id, "task_first_reply_alert")
    assert alert.candidate_group == "intake"
    clock.set(at(28, 9, 30))
    support.progress_told(engine, instance_id, actor="ned")
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    assert (engine.task(alert.id).status, engine.task(alert.id).completed_at) == ("cancelled", at(28, 9, 30))
    assert closed_by(engine, instance_id, "task_first_reply_alert") == [("message", "ned")]
    assert case_steps(engine, instance_id) == [
        ("ned", "First reply overdue", "the first reply was given: the alert closed itself (L1)")
    ]
    assert complaint_row(engine, instance_id).first_reply_at == at(28, 9, 30)
    assert [b["clock"] for b in support.breaches(engine, instance_id)] == ["L1"]


def test_l1_the_first_reply_alert_closes_itself_when_the_department_replies(engine, clock):
    """L1: the reply to the customer (by phone) is the first reply: the alert closes itself in
    that command; the return visit follows."""
    instance_id = l1_alerted(engine, clock)
    alert = open_task(engine, instance_id, "task_first_reply_alert")
    clock.set(at(28, 10))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    assert engine.task(alert.id).status == "open", "the handling and its review are no reply"
    clock.set(at(28, 10, 30))
    complete(engine, instance_id, "task_reply_customer", support.customer_reply(), actor="ned")
    assert open_elements(engine, instance_id) == ["task_return_visit"]
    assert (engine.task(alert.id).status, engine.task(alert.id).completed_at) == ("cancelled", at(28, 10, 30))
    assert closed_by(engine, instance_id, "task_first_reply_alert") == [("complete", "ned")]


def test_l1_the_first_reply_alert_closes_itself_when_the_written_reply_goes_out(engine, clock):
    """L1, R3: a written reply is the first reply when it is sent (not when it is drafted or
    reviewed): the alert closes itself then."""
    instance_id = l1_alerted(engine, clock)
    alert = open_task(engine, instance_id, "task_first_reply_alert")
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(
        engine,
        instance_id,
        "task_reply_customer",
        {"reply_text": "书面答复 Written reply", "reply_method": "written"},
    )
    for element in (
        "task_review_written_specialist",
        "task_review_written_legal",
        "task_approve_written_reply",
    ):
        complete(engine, instance_id, element, {"review_approved": True})
        assert engine.task(alert.id).status == "open"
    clock.set(at(28, 11))
    complete(engine, instance_id, "task_send_written_reply", {"sent_reference": "EMS-1"}, actor="ned")
    assert (engine.task(alert.id).status, engine.task(alert.id).completed_at) == ("cancelled", at(28, 11))
    assert open_elements(engine, instance_id) == ["task_return_visit"]
