"""Handling departments from the config (L4, T6), the dedicated replier (R5) and batch handler (T4).

The diagram has one department lane; dispatch chooses a ``[departments.*]`` entry and that
department's group is offered the lane's tasks (their ``candidateGroup`` property reads
``department_group``). Clock: Friday 2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Forbidden
from tests.procedure import support
from tests.procedure.support import DEPARTMENT, at, complaint_row, complete, open_elements, open_task

BILLING = "dept:billing"


def dispatched(engine, clock, department: str, **record) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(**record))
    clock.set(at(27, 9, 40))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(department=department))
    return instance_id


def test_l4_t6_the_chosen_departments_group_gets_the_handling_reply_and_reminders(engine, clock):
    """L4, T6: dispatched to billing: billing's group, not network's, is offered the work order,
    the reply and a T2 reminder; the deadlines are those of the order, whichever department."""
    instance_id = dispatched(engine, clock, "billing", business_category="fixed_phone")
    handling = open_task(engine, instance_id, "task_handle_order")
    assert (handling.candidate_group, handling.assignee, handling.due_at) == (BILLING, None, at(29, 9, 40))
    with pytest.raises(Forbidden):
        engine.complete_task(
            handling.id, actor="ned", data=support.work_order_reply(), actor_groups=[DEPARTMENT]
        )
    assert engine.instance_data(instance_id)["department_group"] == BILLING

    clock.advance(timedelta(hours=1))
    call = engine.start(actor="agent").instance_id
    number = complaint_row(engine, instance_id).number
    complete(engine, call, "task_record_complaint", support.record(repeat_of=number))
    assert open_task(engine, instance_id, "task_handle_reminder").candidate_group == BILLING

    complete(engine, instance_id, "task_handle_order", support.work_order_reply(), actor="bill")
    complete(engine, instance_id, "task_review_reply", support.review())
    reply = open_task(engine, instance_id, "task_reply_customer")
    assert (reply.candidate_group, reply.assignee) == (BILLING, None)
    complete(engine, instance_id, "task_reply_customer", support.customer_reply(), actor="bill")
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    row = complaint_row(engine, instance_id)
    assert (row.status, row.stage) == ("closed", "closed")
    assert open_elements(engine, instance_id) == []


def test_t4_a_batch_complaint_needs_its_dedicated_handler_at_dispatch(engine, clock):
    """T4: a batch complaint's review goes to the branch's complaint handlers, needs the one
    dedicated person following the batch; the work order stays with the department's group
    (no one person of the department is the batch's handler); every order keeps its tag."""
    instance_id = engine.start(actor="agent").instance_id
    complete(
        engine,
        instance_id,
        "task_record_complaint",
        support.record(**support.batch("B-OLT-7")),
    )
    review = open_task(engine, instance_id, "task_review_dispatch")
    assert review.candidate_group == "complaint_handler"
    with pytest.raises(Exception) as refused:
        complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    assert refused.value.field_errors["batch_handler"].startswith("T4:")
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(batch_handler="zhao.batch"))
    handling = open_task(engine, instance_id, "task_handle_order")
    assert (handling.candidate_group, handling.assignee, handling.priority) == (DEPARTMENT, None, 10)
    row = complaint_row(engine, instance_id)
    assert (row.batch_tag, row.batch_handler) == ("B-OLT-7", "zhao.batch")


def test_t2_a_reminder_before_dispatch_goes_to_the_dispatching_centre(engine, clock):
    """T2: the call informs the dispatching side; with no department chosen yet, the centre
    gets the reminder task (not a department that may never see the order)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    call = engine.start(actor="agent").instance_id
    complete(
        engine,
        call,
        "task_record_complaint",
        support.record(repeat_of=complaint_row(engine, instance_id).number),
    )
    assert open_task(engine, instance_id, "task_handle_reminder").candidate_group == "cs_center"
