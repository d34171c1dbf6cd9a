"""R6 / L6: a customer who cannot be reached: three further attempts, 3 h apart, within 48 h.

Clock: Friday 2026-11-27 09:00 Shanghai; the reply is attempted Saturday 10:00.
"""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from tests.procedure import support
from tests.procedure.support import (
    CS_CENTER,
    DEPARTMENT,
    SUPERVISOR,
    at,
    complaint_row,
    complete,
    iso,
    open_elements,
    open_task,
)


def unreached_at_reply(engine, clock) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)  # L1: the customer heard the progress
    clock.set(at(28, 9))  # the department's valid reply, accepted at once: R4 due 11:00
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    clock.set(at(28, 10))
    complete(
        engine,
        instance_id,
        "task_reply_customer",
        support.customer_reply(customer_reached=False, attempt_note="关机 Phone off"),
    )
    return instance_id


def attempt(**changes):
    data = {"customer_reached": False, "attempt_note": "仍关机 Still off"}
    data.update(changes)
    return data


def test_r6_attempts_are_three_hours_apart_and_unreachable_only_after_three_more(engine, clock):
    """R6, L6, L7: refused when too soon or declared too early; after the third further attempt
    the complaint closes as closed_unreachable with the outcome recorded, L6 measured."""
    instance_id = unreached_at_reply(engine, clock)
    retry = open_task(engine, instance_id, "task_retry_contact")
    assert retry.candidate_group == DEPARTMENT
    data = engine.instance_data(instance_id)
    assert (data["contact_attempts"], data["contact_due"]) == ([iso(28, 10)], iso(30, 10))
    assert support.deadlines(engine, instance_id)["R4"]["met"] is True, "R4 is measured at the reply attempt"

    clock.set(at(28, 12, 59))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_retry_contact", attempt())
    assert refused.value.field_errors["attempt_note"] == (
        f"R6: failed attempts are at least 3 hours apart: the next one from {iso(28, 13)}"
    )

    clock.set(at(28, 13))
    complete(engine, instance_id, "task_retry_contact", attempt())  # further attempt 1
    clock.set(at(28, 16))
    with pytest.raises(InvalidInput) as refused:
        complete(
            engine,
            instance_id,
            "task_retry_contact",
            attempt(declare_unreachable=True, unreachable_outcome="x"),
        )
    assert refused.value.field_errors["declare_unreachable"].startswith("R6: at least 3 further attempts")
    complete(engine, instance_id, "task_retry_contact", attempt())  # further attempt 2
    assert open_elements(engine, instance_id) == ["task_retry_contact"]

    clock.set(at(29, 9))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_retry_contact", attempt(declare_unreachable=True))
    assert refused.value.field_errors["unreachable_outcome"].startswith("R6:")
    result = complete(
        engine,
        instance_id,
        "task_retry_contact",
        attempt(declare_unreachable=True, unreachable_outcome="短信告知处理结果 Result sent by SMS"),
    )
    assert result.status == "completed"
    data = engine.instance_data(instance_id)
    assert data["contact_attempts"] == [iso(28, 10), iso(28, 13), iso(28, 16), iso(29, 9)]
    assert data["closure"]["outcome"] == "closed_unreachable"
    assert data["closure"]["judgement"] == "短信告知处理结果 Result sent by SMS"
    assert support.deadlines(engine, instance_id)["L6"]["met"] is True
    assert complaint_row(engine, instance_id).outcome == "closed_unreachable"


def test_r6_customer_reached_on_a_further_attempt_goes_to_the_return_visit(engine, clock):
    """R6, V3: once reached, the return visit follows as usual."""
    instance_id = unreached_at_reply(engine, clock)
    clock.set(at(28, 14))
    complete(
        engine, instance_id, "task_retry_contact", attempt(customer_reached=True, attempt_note="已告知 Told")
    )
    assert open_elements(engine, instance_id) == ["task_return_visit"]
    assert support.deadlines(engine, instance_id)["L6"]["met"] is True


def test_l6_the_window_ends_by_itself_and_the_customer_is_recorded_unreachable(engine, clock):
    """R6, L6, L7 (issue 11 item 2): nobody declares the customer unreachable; at the end of the
    [contact_window] span (contact_due, first failed attempt + 48 h) the interrupting timer on
    the further attempt withdraws it, records the L6 breach and the attempts, and the complaint
    closes as closed_unreachable by itself."""
    instance_id = unreached_at_reply(engine, clock)
    for hour in (14, 18):
        clock.set(at(28, hour))
        complete(engine, instance_id, "task_retry_contact", attempt())
    retry = open_task(engine, instance_id, "task_retry_contact")
    assert retry.due_at == at(30, 10), "the third attempt is due at the carried contact_due, not restarted"

    clock.set(at(30, 10))
    assert engine.fire_all_due() == 0, "on the due instant itself nothing fires yet"
    assert engine.instance(instance_id).status == "running"
    clock.set(at(30, 10, 0, 1))
    assert engine.fire_all_due() == 1

    assert engine.task(retry.id).status == "cancelled", "the open attempt is withdrawn"
    # issue 11 item 2: the centre and the supervisor are told, each in their own inbox
    centre = open_task(engine, instance_id, "task_unreachable_notice_centre")
    boss = open_task(engine, instance_id, "task_unreachable_notice_supervisor")
    assert (centre.candidate_group, boss.candidate_group) == (CS_CENTER, SUPERVISOR)
    assert open_elements(engine, instance_id) == [
        "task_unreachable_notice_centre",
        "task_unreachable_notice_supervisor",
    ]
    data = engine.instance_data(instance_id)
    assert data["unreachable_outcome"] == "联系期届满，共尝试3次 Contact window over after 3 attempts"
    assert data["contact_attempts"] == [iso(28, 10), iso(28, 14), iso(28, 18)]
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_unreachable_notice_centre", {"notice_note": ""})
    assert "notice_note" in refused.value.field_errors
    clock.set(at(30, 10, 30))
    complete(engine, instance_id, "task_unreachable_notice_centre", {"notice_note": "短信告知结果 SMS sent"})
    assert engine.instance(instance_id).status == "running", "the supervisor has not acknowledged yet"
    clock.set(at(30, 11))
    complete(engine, instance_id, "task_unreachable_notice_supervisor", {"notice_note": "已阅 Noted"})
    assert engine.open_tasks(instance_id) == []
    data = engine.instance_data(instance_id)
    assert data["contact_attempts"] == [iso(28, 10), iso(28, 14), iso(28, 18)]
    assert data["retry_result"] == "unreachable"
    assert data["closure"]["outcome"] == "closed_unreachable"
    assert data["closure"]["judgement"] == "联系期届满，共尝试3次 Contact window over after 3 attempts"
    assert data["closure"]["missed"] == ["L6"]
    assert data["closure"]["closed_at"] == iso(30, 11)
    assert support.deadlines(engine, instance_id)["L6"] == {
        "clock": "L6",
        "due": iso(30, 10),
        "done_at": iso(30, 10, 0, 1),
        "met": False,
        "late_by_s": 1.0,
        "breached": True,
    }
    assert support.breaches(engine, instance_id) == [
        {"clock": "L6", "due": at(30, 10), "at": at(30, 10, 0, 1), "late_by_s": 1.0}
    ]
    row = complaint_row(engine, instance_id)
    assert (row.status, row.outcome) == ("closed", "closed_unreachable")


def test_r6_a_customer_reached_two_hours_after_a_failed_attempt_is_recorded(engine, clock):
    """R6 (issue 11 item 2): the 3 h spacing spreads the FAILED attempts; a customer reached
    2 h after the first failed attempt is recorded at once and the return visit follows; a
    failed attempt at that instant is still refused."""
    instance_id = unreached_at_reply(engine, clock)
    clock.set(at(28, 12))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_retry_contact", attempt())
    assert refused.value.field_errors == {
        "attempt_note": f"R6: failed attempts are at least 3 hours apart: the next one from {iso(28, 13)}"
    }
    complete(
        engine, instance_id, "task_retry_contact", attempt(customer_reached=True, attempt_note="已告知 Told")
    )
    data = engine.instance_data(instance_id)
    assert (data["contact_attempts"], data["retry_result"]) == ([iso(28, 10), iso(28, 12)], "reached")
    visit = open_task(engine, instance_id, "task_return_visit")
    assert visit.candidate_group == CS_CENTER
    l6 = support.deadlines(engine, instance_id)["L6"]
    assert (l6["due"], l6["done_at"], l6["met"]) == (iso(30, 10), iso(28, 12), True)
