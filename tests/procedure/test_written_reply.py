"""R3: written and e-mail replies are reviewed by the specialist department and the legal adviser
and approved by the supervisor before they are sent; R4 is measured when the customer receives
the reply, i.e. when the approved reply is sent.

Clock: Friday 2026-11-27 09:00 Shanghai; R4 counts working time (08:00-12:00, 14:30-20:00).
"""

from __future__ import annotations

import pytest

from engine.errors import Forbidden, InvalidInput
from tests.procedure import support
from tests.procedure.support import (
    SUPERVISOR,
    at,
    breaches,
    complaint_row,
    complete,
    open_elements,
    open_task,
)

BILLING = "dept:billing"
DRAFT = "尊敬的王女士：经核查，多收费用已退还 Dear Ms Wang, the overcharge has been refunded"


def accepted_reply(engine, clock, **record) -> int:
    """A complaint dispatched to billing whose 11:00 reply the centre accepted at once (R4 due 15:30)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(**record))
    clock.set(at(27, 9, 40))
    dispatch = support.dispatch(department="billing")
    if "major" in record.get("complaint_types", []):
        dispatch.update(support.major_plan("li.replier"))
    complete(engine, instance_id, "task_review_dispatch", dispatch)
    if "major" in record.get("complaint_types", []):
        complete(engine, instance_id, "task_approve_plan", support.plan_approved())
    clock.set(at(27, 11))  # R4 counts from the department's valid reply (issue 11 item 3)
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    return instance_id


def written(**changes):
    data = {"reply_text": DRAFT, "reply_method": "written"}
    data.update(changes)
    return data


def test_r3_r4_written_reply_reviewed_returned_revised_approved_then_sent_and_measured(engine, clock):
    """R3: specialist, legal, supervisor in turn, each in their own group's inbox; a return needs
    its reason and goes back to the replier (same reply_due); R4 and L1 are measured when the
    approved reply is sent, 30 minutes after the 15:30 working-time deadline."""
    instance_id = accepted_reply(engine, clock)
    reply = open_task(engine, instance_id, "task_reply_customer")
    assert (reply.candidate_group, reply.due_at) == (BILLING, at(27, 15, 30))  # 11:00 + 1 h + lunch + 1 h

    clock.set(at(27, 11, 30))
    complete(engine, instance_id, "task_reply_customer", written())
    specialist = open_task(engine, instance_id, "task_review_written_specialist")
    # R3: the review chain's wait (4 h, a placeholder figure) is the due of each review in it
    assert (specialist.candidate_group, specialist.due_at) == ("specialist", at(27, 15, 30))
    assert complaint_row(engine, instance_id).stage == "written_reply_review"
    # (R4's timer guards the drafting task; the send task's stops_clock moves the stop to the
    # sending, asserted below: until then the read model shows the draft's completion.)
    with pytest.raises(Forbidden):
        engine.complete_task(
            specialist.id, actor="bill", data={"review_approved": True}, actor_groups=[BILLING]
        )
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_review_written_specialist", {"review_approved": False})
    assert refused.value.field_errors["review_note"].startswith("R3:")

    clock.set(at(27, 13))
    reason = "退款金额有误 The refund amount is wrong"
    complete(
        engine,
        instance_id,
        "task_review_written_specialist",
        {"review_approved": False, "review_note": reason},
    )
    again = open_task(engine, instance_id, "task_reply_customer")
    assert (again.candidate_group, again.due_at) == (BILLING, at(27, 15, 30)), "R4: the same deadline"
    assert engine.instance_data(instance_id)["written_reviews"][-1]["note"] == reason

    clock.set(at(27, 14, 45))
    complete(engine, instance_id, "task_reply_customer", written(reply_method="email"))
    clock.set(at(27, 15))
    complete(engine, instance_id, "task_review_written_specialist", {"review_approved": True})
    legal = open_task(engine, instance_id, "task_review_written_legal")
    assert legal.candidate_group == "legal"
    clock.set(at(27, 15, 10))
    complete(engine, instance_id, "task_review_written_legal", {"review_approved": True})
    approval = open_task(engine, instance_id, "task_approve_written_reply")
    assert approval.candidate_group == SUPERVISOR
    assert complaint_row(engine, instance_id).stage == "written_reply_approval"
    clock.set(at(27, 15, 20))
    complete(engine, instance_id, "task_approve_written_reply", {"review_approved": True})
    send = open_task(engine, instance_id, "task_send_written_reply")
    assert (send.candidate_group, send.assignee) == (BILLING, None)
    assert open_elements(engine, instance_id) == ["task_send_written_reply"]
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_send_written_reply", {"sent_reference": " "})
    assert refused.value.field_errors["sent_reference"].startswith("R3:")

    clock.set(at(27, 16))
    complete(engine, instance_id, "task_send_written_reply", {"sent_reference": "MSG-20261127-77"})
    assert open_elements(engine, instance_id) == ["task_return_visit"]
    data = engine.instance_data(instance_id)
    r4 = support.deadlines(engine, instance_id)["R4"]
    assert (r4["due"], r4["done_at"], r4["met"], r4["late_by_s"]) == (
        at(27, 15, 30).isoformat(),
        at(27, 16).isoformat(),
        False,
        1800.0,
    )
    assert [(review["step"], review["approved"]) for review in data["written_reviews"]] == [
        ("specialist", False),
        ("specialist", True),
        ("legal", True),
        ("supervisor", True),
    ]
    row = complaint_row(engine, instance_id)
    assert row.first_reply_at == at(27, 16), "L1: the customer heard the result when it was sent"
    assert breaches(engine, instance_id) == [], "the reply task was never open past 15:30"

    complete(engine, instance_id, "task_return_visit", support.return_visit())
    row = complaint_row(engine, instance_id)
    assert (row.status, row.stage, engine.instance_data(instance_id)["closure"]["missed"]) == (
        "closed",
        "closed",
        ["R4"],
    )


def test_r3_r5_supervisor_refusal_returns_to_the_dedicated_replier_who_alone_sends(engine, clock):
    """R3: the supervisor's refusal goes back to the replier with its reason; R5: a major
    complaint's reply is drafted and sent by its dedicated replier (tasks assigned to them)."""
    instance_id = accepted_reply(engine, clock, complaint_types=["major"])
    assert open_task(engine, instance_id, "task_reply_customer").assignee == "li.replier"
    complete(engine, instance_id, "task_reply_customer", written())
    complete(engine, instance_id, "task_review_written_specialist", {"review_approved": True})
    complete(engine, instance_id, "task_review_written_legal", {"review_approved": True})
    with pytest.raises(InvalidInput):
        complete(engine, instance_id, "task_approve_written_reply", {"review_approved": False})
    complete(
        engine,
        instance_id,
        "task_approve_written_reply",
        {"review_approved": False, "review_note": "语气生硬 The tone is curt"},
    )
    assert open_task(engine, instance_id, "task_reply_customer").assignee == "li.replier"

    complete(engine, instance_id, "task_reply_customer", written(reply_text=DRAFT + "，再次致歉 Sorry again"))
    for element in (
        "task_review_written_specialist",
        "task_review_written_legal",
        "task_approve_written_reply",
    ):
        complete(engine, instance_id, element, {"review_approved": True})
    send = open_task(engine, instance_id, "task_send_written_reply")
    assert (send.candidate_group, send.assignee) == (BILLING, "li.replier")
    complete(engine, instance_id, "task_send_written_reply", {"sent_reference": "EMS-1127"})
    assert open_elements(engine, instance_id) == ["task_return_visit"]
    steps = [(r["step"], r["approved"]) for r in engine.instance_data(instance_id)["written_reviews"]]
    assert steps == [("specialist", True), ("legal", True), ("supervisor", False)] + [
        ("specialist", True),
        ("legal", True),
        ("supervisor", True),
    ], "the revised reply is reviewed again from the start; the history is kept"


def test_r3_a_spoken_reply_needs_no_review_but_must_say_whether_the_customer_was_reached(engine, clock):
    """R3 applies to written replies only; R4/R6: a phone reply says whether it reached the customer."""
    instance_id = accepted_reply(engine, clock)
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_reply_customer", {"reply_text": DRAFT, "reply_method": "phone"})
    assert refused.value.field_errors["customer_reached"].startswith("R4/R6:")
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    assert open_elements(engine, instance_id) == ["task_return_visit"]


def test_r3_the_review_chain_waiting_past_its_span_records_the_breach_and_a_return_starts_a_new_wait(
    engine, clock
):
    """R3, L7: one non-interrupting timer guards the whole review chain (specialist, legal,
    supervisor), [review_deadlines] written_reply_review = 4 h from the draft's submission; a
    return ends that wait, the revised draft starts a new one; the breach leaves the review open."""
    instance_id = accepted_reply(engine, clock)
    clock.set(at(27, 11, 30))
    complete(engine, instance_id, "task_reply_customer", written())  # R3 due 15:30
    clock.set(at(27, 13))
    complete(
        engine,
        instance_id,
        "task_review_written_specialist",
        {"review_approved": False, "review_note": "退款金额有误 The refund amount is wrong"},
    )
    clock.set(at(27, 14, 45))
    complete(engine, instance_id, "task_reply_customer", written())  # a new wait: R3 due 18:45
    clock.set(at(27, 15))
    complete(engine, instance_id, "task_review_written_specialist", {"review_approved": True})
    clock.set(at(27, 15, 31))
    assert engine.fire_all_due() == 0, "the first draft's wait ended with its return"

    clock.set(at(27, 18, 45))
    assert engine.fire_all_due() == 0, "on the due instant itself nothing fires yet"
    clock.set(at(27, 18, 45, 1))
    assert engine.fire_all_due() == 1
    assert breaches(engine, instance_id) == [
        {"clock": "R3", "due": at(27, 18, 45), "at": at(27, 18, 45, 1), "late_by_s": 1.0}
    ]
    assert open_elements(engine, instance_id) == ["task_review_written_legal"], "the review stays open"

    clock.set(at(27, 19))
    complete(engine, instance_id, "task_review_written_legal", {"review_approved": True})
    clock.set(at(27, 19, 10))
    complete(engine, instance_id, "task_approve_written_reply", {"review_approved": True})
    assert open_elements(engine, instance_id) == ["task_send_written_reply"]
    assert [row["clock"] for row in breaches(engine, instance_id)] == ["R3"]
    reviews = engine.instance_data(instance_id)["written_reviews"]
    steps = [(review["step"], review["approved"]) for review in reviews]
    assert steps == [("specialist", False), ("specialist", True), ("legal", True), ("supervisor", True)]
