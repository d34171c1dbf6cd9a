"""Scenarios on the real bundle around the deadlines: breaches, rework, working time.

L2 review and dispatch, L4 department handling, E5 rework keeps the deadline, R4 reply in
working time, L7 every deadline measured. The clock starts on Friday 2026-11-27 09:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput
from engine.models import HumanTask, TimerFiring
from tests.procedure import support
from tests.procedure.support import (
    CS_CENTER,
    DEPARTMENT,
    SUPERVISOR,
    at,
    complete,
    iso,
    open_elements,
    open_task,
)


def recorded(engine, clock, **record_changes) -> int:
    """A complaint recorded at the clock's instant, waiting for review and dispatch."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(**record_changes))
    return instance_id


def dispatched(engine, clock) -> int:
    """Recorded at 09:00, dispatched at 10:00 Friday: handling due Sunday 10:00 (L4, 48 h)."""
    instance_id = recorded(engine, clock)
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)  # L1: the customer heard the progress
    return instance_id


def firings(engine) -> list[TimerFiring]:
    with engine.reader() as session:
        return list(session.scalars(select(TimerFiring).order_by(TimerFiring.id)))


# ----------------------------------------------------------------------------- L2


def test_l2_breach_at_two_hours_and_one_second_alerts_the_supervisor_task_stays_open(engine, clock):
    """L2, L7: at 2 h + 1 s the breach is recorded and the supervisor alerted; the review task
    stays open and claimed by its owner; its late completion is measured."""
    instance_id = recorded(engine, clock)  # accepted 09:00, dispatch due 11:00
    review = open_task(engine, instance_id, "task_review_dispatch")
    engine.claim(review.id, actor="dispatcher", actor_groups=[CS_CENTER])

    clock.set(at(27, 11))
    assert engine.fire_all_due() == 0, "on the due instant itself nothing fires yet"
    clock.set(at(27, 11, 0, 1))
    assert engine.fire_all_due() == 1

    assert open_elements(engine, instance_id) == ["task_dispatch_breach_alert", "task_review_dispatch"]
    still_open = engine.task(review.id)
    assert (still_open.status, still_open.assignee) == ("open", "dispatcher")
    alert = open_task(engine, instance_id, "task_dispatch_breach_alert")
    assert alert.candidate_group == SUPERVISOR
    assert support.breaches(engine, instance_id) == [
        {"clock": "L2", "due": at(27, 11), "at": at(27, 11, 0, 1), "late_by_s": 1.0}
    ]
    [firing] = firings(engine)
    assert (firing.element_id, firing.due_at, firing.lateness_s) == (
        "timer_dispatch_overdue",
        at(27, 11),
        1.0,
    )

    clock.set(at(27, 11, 10))
    complete(engine, instance_id, "task_dispatch_breach_alert", {"supervision_note": "已催办 Reminded"})
    clock.set(at(27, 11, 30))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(), actor="dispatcher")
    l2 = support.deadlines(engine, instance_id)["L2"]
    assert (l2["met"], l2["late_by_s"], l2["done_at"]) == (False, 1800.0, iso(27, 11, 30))
    assert open_elements(engine, instance_id) == ["task_handle_order"]


def test_l2_urgent_complaint_breaches_after_thirty_minutes(engine, clock):
    """L2, H1: an escalated complaint must be dispatched within 30 minutes."""
    instance_id = recorded(
        engine,
        clock,
        channel="miit",
        complaint_types=["escalated"],
        outside_deadline="2026-11-29T17:00+08:00",
    )
    assert open_task(engine, instance_id, "task_review_dispatch").due_at == at(27, 9, 30)
    clock.set(at(27, 9, 30, 1))
    engine.fire_all_due()
    assert "task_dispatch_breach_alert" in open_elements(engine, instance_id)


def test_l2_open_alert_closes_itself_at_dispatch_and_the_late_dispatch_stays_in_the_outcome(engine, clock):
    """L2, L7, V2: an unhandled alert closes itself when the order goes out (issue 11 item 7),
    and the late dispatch stays in the closed complaint's outcome (L7)."""
    instance_id = recorded(engine, clock)
    clock.set(at(27, 11, 0, 1))
    engine.fire_all_due()
    alert = open_task(engine, instance_id, "task_dispatch_breach_alert")
    clock.set(at(27, 12))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    assert engine.task(alert.id).status == "cancelled"
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    for element_id, data in [
        ("task_handle_order", support.work_order_reply()),
        ("task_review_reply", support.review()),
        ("task_reply_customer", support.customer_reply()),
        ("task_return_visit", support.return_visit()),
    ]:
        complete(engine, instance_id, element_id, data)
    assert engine.instance(instance_id).status == "completed"
    assert engine.task(alert.id).status == "cancelled"
    closure = engine.instance_data(instance_id)["closure"]
    assert (closure["on_time"], closure["missed"]) == (False, ["L2"])


# ----------------------------------------------------------------------------- L4, W4, E5


def test_l4_breach_is_recorded_and_the_late_reply_measured(engine, clock):
    """L4, L7: the handling deadline passes while the department works; the breach is recorded,
    the task stays with the department, and the late submission is measured."""
    instance_id = dispatched(engine, clock)
    handling = open_task(engine, instance_id, "task_handle_order")
    assert handling.due_at == at(29, 10)
    clock.set(at(28, 9, 0, 1))
    assert engine.fire_all_due() == 1, "L1's 24-hour check: the customer heard the progress"
    assert open_elements(engine, instance_id) == ["task_handle_order"]

    clock.set(at(29, 10, 0, 1))
    assert engine.fire_all_due() == 1
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    assert engine.task(handling.id).status == "open"
    assert support.breaches(engine, instance_id) == [
        {"clock": "L4", "due": at(29, 10), "at": at(29, 10, 0, 1), "late_by_s": 1.0}
    ]
    assert [firing.element_id for firing in firings(engine)] == [
        "start_first_reply_due",
        "timer_handling_overdue",
    ]

    clock.set(at(29, 12))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    assert support.deadlines(engine, instance_id)["L4"] == {
        "clock": "L4",
        "due": iso(29, 10),
        "done_at": iso(29, 12),
        "met": False,
        "late_by_s": 7200.0,
        "breached": True,
    }


def test_w4_concentrated_problem_without_measures_is_refused_and_nothing_saved(engine, clock):
    """W4: a concentrated problem needs its measures; the refusal names the fields and saves
    nothing (the task stays open, the instance row is unchanged)."""
    instance_id = dispatched(engine, clock)
    handling = open_task(engine, instance_id, "task_handle_order")
    before = engine.instance(instance_id)

    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", support.work_order_reply(concentrated=True))
    errors = refused.value.field_errors
    assert set(errors) == {"measures", "restoration_time", "coordinating_department"}
    assert errors["measures"].startswith("W4:")

    after = engine.instance(instance_id)
    assert (after.version, after.state) == (before.version, before.state)
    assert engine.task(handling.id).status == "open"
    assert "cause" not in engine.instance_data(instance_id)

    complete(
        engine,
        instance_id,
        "task_handle_order",
        support.work_order_reply(
            concentrated=True,
            measures="更换受损光缆 Replace the damaged fibre",
            restoration_time="2026-11-28T18:00+08:00",
            coordinating_department="网络部 Network department",
        ),
    )
    assert open_elements(engine, instance_id) == ["task_review_reply"]


def test_e5_returned_reply_goes_back_with_the_same_handling_deadline(engine, clock):
    """E4, E5: the centre returns an unqualified reply with its reason; the department reworks it
    against the deadline set at dispatch, which nothing recomputes."""
    instance_id = dispatched(engine, clock)
    first = open_task(engine, instance_id, "task_handle_order")
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())

    clock.set(at(28, 15))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_review_reply", {"reply_qualified": False})
    assert refused.value.field_errors["return_reason"].startswith("E5:")
    complete(engine, instance_id, "task_review_reply", support.review(qualified=False))

    rework = open_task(engine, instance_id, "task_handle_order")
    assert rework.id != first.id
    assert (rework.candidate_group, rework.due_at) == (DEPARTMENT, at(29, 10)), "E5: same deadline"
    data = engine.instance_data(instance_id)
    assert data["handling_due"] == iso(29, 10)
    assert data["return_reason"] == "未说明恢复时间 Restoration time missing"

    clock.set(at(29, 11))  # the rework is an hour late against the original deadline
    engine.fire_all_due()
    complete(engine, instance_id, "task_handle_order", support.work_order_reply(result="已恢复 Restored"))
    l4 = support.deadlines(engine, instance_id)["L4"]
    assert (l4["due"], l4["done_at"], l4["met"], l4["late_by_s"]) == (iso(29, 10), iso(29, 11), False, 3600.0)
    assert open_elements(engine, instance_id) == ["task_review_reply"]


# ----------------------------------------------------------------------------- R4


def awaiting_centre_review(engine, clock, replied=None) -> int:
    instance_id = dispatched(engine, clock)
    clock.set(replied or at(27, 10, 30))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    return instance_id


@pytest.mark.parametrize(
    ("replied", "due"),
    [
        (at(27, 11), at(27, 15, 30)),  # 1 h before lunch, 1 h after 14:30
        (at(27, 19, 30), at(28, 9, 30)),  # 30 min before 20:00, 1 h 30 after 08:00
        (at(27, 12, 30), at(27, 16, 30)),  # replied during lunch: counts from 14:30
    ],
    ids=["11:00->15:30", "19:30->09:30 next day", "12:30 lunch->16:30"],
)
def test_r4_reply_due_two_working_hours_after_the_departments_valid_reply(engine, clock, replied, due):
    """R4, L5: 2 working hours, night 20:00-08:00 and lunch 12:00-14:30 excluded, from the
    department's reply the centre accepts (issue 11 item 3; accepted here at once)."""
    instance_id = awaiting_centre_review(engine, clock, replied)
    complete(engine, instance_id, "task_review_reply", support.review())
    reply = open_task(engine, instance_id, "task_reply_customer")
    assert (reply.candidate_group, reply.due_at) == (DEPARTMENT, due)
    assert engine.instance_data(instance_id)["reply_due"] == due.isoformat()


def test_r4_breach_is_recorded_at_the_working_time_deadline(engine, clock):
    """R4, L7: replied and accepted 19:30, due 09:30 the next morning; nothing fires overnight."""
    instance_id = awaiting_centre_review(engine, clock, at(27, 19, 30))
    complete(engine, instance_id, "task_review_reply", support.review())
    clock.set(at(28, 9, 0, 1))
    assert engine.fire_all_due() == 1, "L1's 24-hour check"

    clock.set(at(28, 9, 30))
    assert engine.fire_all_due() == 0
    clock.advance(timedelta(seconds=1))
    assert engine.fire_all_due() == 1
    assert support.breaches(engine, instance_id)[-1] == {
        "clock": "R4",
        "due": at(28, 9, 30),
        "at": at(28, 9, 30, 1),
        "late_by_s": 1.0,
    }
    clock.set(at(28, 10))
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    r4 = support.deadlines(engine, instance_id)["R4"]
    assert (r4["met"], r4["late_by_s"]) == (False, 1800.0)


def test_l7_every_timer_of_a_closed_complaint_is_gone(engine, clock):
    """L7: a closed complaint leaves no waiting timer and no open task behind."""
    instance_id = awaiting_centre_review(engine, clock)
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    instance = engine.instance(instance_id)
    assert (instance.status, instance.next_timer_at) == ("completed", None)
    with engine.reader() as session:
        still_open = session.scalars(select(HumanTask).where(HumanTask.status == "open")).all()
    assert still_open == []


def test_l7_a_rework_entered_after_the_deadline_is_one_breach_not_two(engine, clock):
    """L7, E5: the handling deadline passed, then the reply is returned: the rework task's timer
    fires again at once for the same deadline; the record keeps one L4 breach."""
    instance_id = dispatched(engine, clock)
    clock.set(at(29, 10, 0, 1))
    engine.fire_all_due()
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review(qualified=False))
    assert open_task(engine, instance_id, "task_handle_order").due_at == at(29, 10)
    clock.set(at(29, 10, 5))
    engine.fire_all_due()
    assert [(b["clock"], b["due"]) for b in support.breaches(engine, instance_id) if b["clock"] == "L4"] == [
        ("L4", at(29, 10))
    ]


@pytest.mark.parametrize(
    ("channel", "a5_fields"),
    [
        ("visit", {"customer_confirmed": True}),
        ("letter", {"document_archive_ref": "函-2026-118"}),
        ("fax", {"document_archive_ref": "传真-2026-031"}),
        ("email", {"details_verified": True}),
        ("internet", {"details_verified": True}),
    ],
)
def test_l3_a_visit_letter_fax_or_email_order_leaves_within_two_hours_of_the_record_step(
    engine, clock, channel, a5_fields
):
    """L3: the 2 hours run from the completion of the channel's record step (A5), not from when
    the intake began: a record finished at 09:40 is dispatched by 11:40 (L2's clock, from the
    acceptance the record step stamps); later it is a breach."""
    instance_id = engine.start(actor="agent").instance_id
    clock.set(at(27, 9, 40))
    complete(engine, instance_id, "task_record_complaint", support.record(channel=channel, **a5_fields))
    assert open_task(engine, instance_id, "task_review_dispatch").due_at == at(27, 11, 40)
    clock.set(at(27, 11, 40, 1))
    engine.fire_all_due()
    assert "task_dispatch_breach_alert" in open_elements(engine, instance_id)
