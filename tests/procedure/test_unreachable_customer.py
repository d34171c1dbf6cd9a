"""R6 / L6: a customer who cannot be reached: three further attempts, 3 h apart, within 48 h.

Clock: Friday 2026-11-27 09:00 Shanghai; the reply is attempted Saturday 10:00.
"""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from tests.procedure import support
from tests.procedure.support import DEPARTMENT, at, complaint_row, complete, iso, open_elements, open_task


def unreached_at_reply(engine, clock) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)  # L1: the customer heard the progress
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    clock.set(at(28, 9))
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
        f"R6: attempts are at least 3 hours apart: the next one from {iso(28, 13)}"
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


def test_l6_attempts_beyond_48_hours_are_measured_as_missed(engine, clock):
    """L6, L7: declaring the customer unreachable after the 48 hours is allowed but measured late."""
    instance_id = unreached_at_reply(engine, clock)
    for hour in (14, 18, 22):
        clock.set(at(28, hour))
        complete(engine, instance_id, "task_retry_contact", attempt())
    clock.set(at(30, 11))
    complete(
        engine,
        instance_id,
        "task_retry_contact",
        attempt(declare_unreachable=True, unreachable_outcome="已留言 Left a message"),
    )
    outcome = support.deadlines(engine, instance_id)["L6"]
    assert (outcome["met"], outcome["late_by_s"]) == (False, 3600.0)
