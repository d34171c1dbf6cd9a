"""Repeat and batch complaints at intake: T2 (still in progress), T3 (dissatisfied), T4 (batch tag).

Clock: Friday 2026-11-27 09:00 Shanghai. The intake validator looks the customer up in the
complaint record (tasks.records) in the command's own transaction.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import views
from engine.errors import InvalidInput
from tasks import repeats
from tests.procedure import support
from tests.procedure.support import DEPARTMENT, at, complaint_row, complete, open_elements, open_task


def running_complaint(engine, **changes) -> tuple[int, str]:
    """A complaint dispatched to the network department (handling in progress)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(**changes))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    return instance_id, complaint_row(engine, instance_id).number


def test_t2_an_unlinked_call_from_a_customer_with_a_complaint_in_progress_is_refused(engine, clock):
    """T2: the agent must look the open complaint up: link it, or confirm a separate matter."""
    _, number = running_complaint(engine, customer_account="BB-0001")
    call = engine.start(actor="agent").instance_id
    with pytest.raises(InvalidInput) as refused:
        complete(engine, call, "task_record_complaint", support.record(customer_phone="138-0013-8000"))
    assert refused.value.field_errors["repeat_of"].startswith("T2:")
    assert number in refused.value.field_errors["repeat_of"]
    # Same customer by account, other phone: found too.
    with pytest.raises(InvalidInput):
        complete(
            engine,
            call,
            "task_record_complaint",
            support.record(customer_phone="13911112222", customer_account="BB-0001"),
        )

    complete(engine, call, "task_record_complaint", support.record(separate_matter=True))
    assert open_elements(engine, call) == ["task_review_dispatch"], "a separate matter is a new complaint"


def test_t2_repeat_in_progress_opens_no_order_and_each_call_reminds_the_department(engine, clock):
    """T2: no new work order; the call ends merged_into the running complaint, and every such call
    reaches the handling department as a reminder task (催办), the main path undisturbed."""
    running, number = running_complaint(engine)
    handling = open_task(engine, running, "task_handle_order")

    for call_number in (1, 2):
        clock.advance(timedelta(hours=1))
        call = engine.start(actor="agent").instance_id
        result = complete(
            engine,
            call,
            "task_record_complaint",
            support.record(
                repeat_of=number, description=f"第{call_number}次催问 Chasing, call {call_number}"
            ),
        )
        assert result.status == "completed"
        closure = engine.instance_data(call)["closure"]
        assert (closure["outcome"], closure["merged_into"], closure["merged_into_instance"]) == (
            "merged_into",
            number,
            running,
        )
        assert complaint_row(engine, call) is None, "T2: no new work order, no number"
        assert engine.instance_data(call)["reminder_sent"]["reminder_to"] == running
        assert repeats.reminder_state(engine, call) == "delivered", "in the intake's command, via the outbox"

    reminders = [row for row in engine.open_tasks(running) if row.element_id == "task_handle_reminder"]
    assert len(reminders) == 2
    assert {row.candidate_group for row in reminders} == {DEPARTMENT}
    assert open_task(engine, running, "task_handle_order").id == handling.id, "handling undisturbed"
    row = complaint_row(engine, running)
    assert (row.reminders, row.stage, row.status) == (2, "handling", "open")
    data = engine.instance_data(running)
    assert data["complaint_no"] == number and data["handling_due"] == row.deadline_outcomes["L4"]["due"]

    engine.complete_task(
        reminders[0].id,
        actor="engineer",
        data={"reminder_action": "已联系客户告知进度 Told the customer"},
        actor_groups=[DEPARTMENT],
    )
    assert len([r for r in engine.open_tasks(running) if r.element_id == "task_handle_reminder"]) == 1


def test_t2_an_ordinary_intake_sends_no_reminder(engine):
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    assert repeats.reminder_state(engine, instance_id) is None
    assert engine.outbox.rows_of(instance_id) == []


def test_t3_repeat_of_a_closed_complaint_is_a_new_linked_urgent_order_with_the_reason(engine, clock):
    """T3, H1: dissatisfied with the earlier result: a new order linked to the old one, the
    reason for the dissatisfaction required, urgent (repeat)."""
    earlier = engine.start(actor="agent").instance_id
    complete(
        engine,
        earlier,
        "task_record_complaint",
        support.record(first_contact_resolved=True, first_contact_resolution="解释", customer_accepted=True),
    )
    number = complaint_row(engine, earlier).number

    call = engine.start(actor="agent").instance_id
    with pytest.raises(InvalidInput) as refused:
        complete(engine, call, "task_record_complaint", support.record(repeat_of=number))
    assert refused.value.field_errors["repeat_reason"].startswith("T3:")
    assert refused.value.field_errors["complaint_types"].startswith("T3:")
    with pytest.raises(InvalidInput) as refused:
        complete(engine, call, "task_record_complaint", support.record(repeat_of="TS-20990101-0001"))
    assert refused.value.field_errors["repeat_of"].startswith("T2/T3:")

    complete(
        engine,
        call,
        "task_record_complaint",
        support.record(
            repeat_of=number, complaint_types=["repeat"], repeat_reason="问题再次出现 It came back"
        ),
    )
    row = complaint_row(engine, call)
    assert (row.repeat_of, row.type_flags, row.priority, row.status) == (number, "repeat", "urgent", "open")
    assert open_task(engine, call, "task_review_dispatch").priority == 10


def test_t3_a_repeat_flag_needs_the_link(engine):
    call = engine.start(actor="agent").instance_id
    with pytest.raises(InvalidInput) as refused:
        complete(engine, call, "task_record_complaint", support.record(complaint_types=["repeat"]))
    assert refused.value.field_errors["repeat_of"].startswith("T3:")


def test_t4_batch_complaints_carry_their_tag_on_the_record(engine):
    """T4: the departments concerned are told at once (which, recorded); every order of a batch
    carries the batch tag; batch complaints are urgent (H1)."""
    call = engine.start(actor="agent").instance_id
    with pytest.raises(InvalidInput) as refused:
        complete(engine, call, "task_record_complaint", support.record(complaint_types=["batch"]))
    assert refused.value.field_errors["batch_tag"].startswith("T4:")
    assert refused.value.field_errors["batch_departments_notified"].startswith("T4: tell the departments")
    with pytest.raises(InvalidInput) as refused:
        complete(
            engine,
            call,
            "task_record_complaint",
            support.record(complaint_types=["batch"], batch_tag="B-OLT-7", batch_departments_notified=["it"]),
        )
    assert any(field.startswith("batch_departments_notified") for field in refused.value.field_errors)
    complete(engine, call, "task_record_complaint", support.record(**support.batch("B-OLT-7")))
    other = engine.start(actor="agent").instance_id
    complete(
        engine,
        other,
        "task_record_complaint",
        support.record(customer_phone="13911112222", **support.batch("B-OLT-7")),
    )
    assert engine.instance_data(other)["batch_departments_notified"] == ["network", "billing"]
    rows = [complaint_row(engine, call), complaint_row(engine, other)]
    assert [(row.batch_tag, row.priority) for row in rows] == [("B-OLT-7", "urgent")] * 2


def test_a3_a_customer_likely_to_escalate_is_reported_and_dispatched_urgently(engine, clock):
    """A3, H1, L2: signs of going over the company's head: reported upward (to whom, required),
    and the order is urgent: 30-minute dispatch, inbox priority 10."""
    call = engine.start(actor="agent").instance_id
    with pytest.raises(InvalidInput) as refused:
        complete(engine, call, "task_record_complaint", support.record(escalation_risk=True))
    assert refused.value.field_errors["escalation_risk_reported_to"].startswith("A3:")
    complete(
        engine,
        call,
        "task_record_complaint",
        support.record(escalation_risk=True, escalation_risk_reported_to="客服中心主任 Centre head"),
    )
    review = open_task(engine, call, "task_review_dispatch")
    assert (review.priority, review.due_at) == (10, at(27, 9, 30))
    assert engine.instance_data(call)["registration"]["urgent_because"] == ["escalation_risk"]
    assert complaint_row(engine, call).priority == "urgent"


def test_t2_a_reminder_to_a_complaint_that_closed_meanwhile_is_refused(engine, clock):
    """T2: the running complaint closed between the merged intake's commit and the delivery (the
    process died in between): the engine refuses the message, the outbox row ends failed with
    the reason, and the web layer tells the agent to record a T3 complaint instead."""
    running, number = running_complaint(engine)
    call = engine.start(actor="agent").instance_id
    deliver_after_commit = engine.outbox.after_commit
    engine.outbox.after_commit = lambda ids: None  # the process dies right after the commit
    complete(engine, call, "task_record_complaint", support.record(repeat_of=number))
    engine.outbox.after_commit = deliver_after_commit
    assert repeats.reminder_state(engine, call) == "pending"
    complete(engine, running, "task_handle_order", support.work_order_reply())
    complete(engine, running, "task_review_reply", support.review())
    complete(engine, running, "task_reply_customer", support.customer_reply())
    complete(engine, running, "task_return_visit", support.return_visit())
    assert engine.outbox.deliver_pending() == 0
    assert repeats.reminder_state(engine, call) == "failed"
    [row] = engine.outbox.rows_of(call)
    assert row.last_error.startswith("T2: instance") and "completed" in row.last_error
    assert complaint_row(engine, running).reminders == 0


def closed_complaint_with_reply(engine, **reply) -> str:
    """A complaint handled to the end (satisfied return visit) whose reply concluded ``reply``."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    complete(engine, instance_id, "task_handle_order", support.work_order_reply(**reply))
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    row = complaint_row(engine, instance_id)
    assert row.conclusion == {"company_responsible": True}
    return row.number


def test_r1_a_repeat_complaints_reply_contradicting_the_earlier_one_needs_a_justification(engine, clock):
    """R1: the earlier reply said the company is responsible; the repeat complaint's reply says
    it is not: refused until the department justifies the change, then kept with it. A reply
    that agrees needs nothing."""
    earlier = closed_complaint_with_reply(engine, company_responsible=True)
    repeat = engine.start(actor="agent").instance_id
    complete(
        engine,
        repeat,
        "task_record_complaint",
        support.record(repeat_of=earlier, complaint_types=["repeat"], repeat_reason="又断网 It failed again"),
    )
    complete(engine, repeat, "task_review_dispatch", support.dispatch())
    with pytest.raises(InvalidInput) as refused:
        complete(engine, repeat, "task_handle_order", support.work_order_reply(company_responsible=False))
    assert refused.value.field_errors["consistency_justification"] == (
        f"R1: the reply to the earlier complaint {earlier} concluded otherwise "
        "(company_responsible True -> False): justify the change"
    )
    assert open_elements(engine, repeat) == ["task_handle_order"]
    complete(
        engine,
        repeat,
        "task_handle_order",
        support.work_order_reply(
            company_responsible=False,
            consistency_justification="用户自购路由器故障 The customer's own router",
        ),
    )
    assert complaint_row(engine, repeat).conclusion == {"company_responsible": False}

    agreeing = engine.start(actor="agent").instance_id
    complete(
        engine,
        agreeing,
        "task_record_complaint",
        support.record(
            customer_phone="13911112222",
            repeat_of=earlier,
            complaint_types=["repeat"],
            repeat_reason="慢 Slow",
        ),
    )
    complete(engine, agreeing, "task_review_dispatch", support.dispatch())
    complete(engine, agreeing, "task_handle_order", support.work_order_reply(company_responsible=True))
    assert open_elements(engine, agreeing) == ["task_review_reply"]


def test_t2_the_agent_informs_the_dispatching_side_which_reminds_the_department(engine, clock):
    """T2 (issue 11 item 5, original: 将信息反馈至派单部门,由其向相关处理部门发工单催办提醒): the intake
    ends merged and, in the same command, tells the dispatching side (svc_tell_dispatching, an
    outbox row); delivered after the commit, the reminder reaches the running complaint as the
    dispatching side's message: counted on the record, a reminder task for the handling
    department (nobody else), the call left with no task of its own."""
    running, number = running_complaint(engine)
    clock.advance(timedelta(hours=2))
    call = engine.start(actor="ivy").instance_id
    description = "客户再次来电催问 The customer calls again"
    data = support.record(repeat_of=number, description=description)
    complete(engine, call, "task_record_complaint", data, actor="ivy")

    # The call: merged, nothing left open, the step that told the dispatching side recorded.
    assert engine.instance(call).status == "completed" and engine.open_tasks(call) == []
    [row] = engine.outbox.rows_of(call)
    assert engine.instance_data(call)["reminder_sent"] == {"reminder_to": running, "outbox_id": row.id}
    assert (row.kind, row.status, row.attempts) == ("t2_reminder", "delivered", 0)
    assert row.delivered_at == clock.now()
    [intake] = [entry for entry in views.history(engine, call) if entry.command == "complete"]
    assert intake.actor == "ivy"

    # The running complaint: the dispatching side's reminder, for the department it dispatched to.
    [message] = [entry for entry in views.history(engine, running) if entry.command == "message"]
    assert (message.actor, message.detail["message"]) == ("dispatching_side", "reminder")
    assert message.at == clock.now()
    assert message.detail["payload"] == {
        "from_instance": call,
        "note": description,
        "customer_phone": support.record()["customer_phone"],
        "merged_into": number,
        "department_group": DEPARTMENT,
    }
    [reminder] = [task for task in engine.open_tasks(running) if task.element_id == "task_handle_reminder"]
    assert (reminder.candidate_group, reminder.assignee) == (DEPARTMENT, None)
    assert open_elements(engine, running) == ["task_handle_order", "task_handle_reminder"]
    recorded = engine.instance_data(running)["reminder_record"]
    assert recorded == {
        "received_at": clock.now().astimezone(support.SHANGHAI).isoformat(),
        "from_instance": call,
        "note": description,
        "customer_phone": support.record()["customer_phone"],
        "department_group": DEPARTMENT,
    }
    row = complaint_row(engine, running)
    assert (row.reminders, row.stage, row.status) == (1, "handling", "open")
    assert complaint_row(engine, call) is None, "T2: no new work order, no number"
