"""L1: within 24 hours of receipt the customer hears the solution or the progress.

Clock: Friday 2026-11-27 09:00 Shanghai; the intake begins then, so L1 is due Saturday 09:00.
"""

from __future__ import annotations

from tests.procedure import support
from tests.procedure.support import INTAKE, at, breaches, complaint_row, complete, open_elements, open_task


def dispatched_without_news(engine, clock) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    return instance_id


def test_l1_no_first_reply_in_24_hours_records_the_breach_and_alerts_the_owner(engine, clock):
    """L1, L7, A1: nothing told to the customer by Saturday 09:00: the breach is recorded and the
    intake (first-contact owner) gets an alert; the handling carries on."""
    instance_id = dispatched_without_news(engine, clock)
    clock.set(at(28, 9))
    assert engine.fire_all_due() == 0, "due on the instant itself: not yet"
    clock.set(at(28, 9, 0, 1))
    assert engine.fire_all_due() == 1
    assert open_elements(engine, instance_id) == ["task_first_reply_alert", "task_handle_order"]
    assert open_task(engine, instance_id, "task_first_reply_alert").candidate_group == INTAKE
    assert breaches(engine, instance_id) == [
        {"clock": "L1", "due": at(28, 9), "at": at(28, 9, 0, 1), "late_by_s": 1.0}
    ]
    row = complaint_row(engine, instance_id)
    l1 = row.deadline_outcomes["L1"]
    assert (l1["due"], l1["met"], l1["breached"]) == (at(28, 9).isoformat(), None, True)
    # The alert's event subprocess does not bring old data back into the record.
    assert (row.stage, row.deadline_outcomes["L2"]["met"]) == ("handling", True)
    assert engine.instance_data(instance_id)["handling_due"] == at(29, 10).isoformat()

    complete(
        engine, instance_id, "task_first_reply_alert", {"action_note": "已致电告知进度 Called the customer"}
    )
    assert open_elements(engine, instance_id) == ["task_handle_order"]


def test_l1_progress_told_in_time_is_the_first_reply_and_nothing_is_raised(engine, clock):
    """L1: the department tells the customer the progress on Friday 15:00 (message progress_reply):
    met; the 24-hour check finds it and raises nothing; a later progress call changes nothing."""
    instance_id = dispatched_without_news(engine, clock)
    clock.set(at(27, 15))
    support.progress_told(engine, instance_id)
    clock.set(at(27, 18))
    support.progress_told(engine, instance_id)
    row = complaint_row(engine, instance_id)
    assert row.first_reply_at == at(27, 15)
    l1 = row.deadline_outcomes["L1"]
    assert (l1["done_at"], l1["met"], l1["breached"]) == (at(27, 15).isoformat(), True, False)

    clock.set(at(28, 9, 0, 1))
    assert engine.fire_all_due() == 1
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    assert breaches(engine, instance_id) == []


def test_l1_resolution_at_first_contact_is_the_first_reply(engine, clock):
    """L1, A2: resolved on the spot: answered at once; the 24-hour check ends with the instance."""
    instance_id = engine.start(actor="agent").instance_id
    clock.set(at(27, 9, 5))
    complete(
        engine,
        instance_id,
        "task_record_complaint",
        support.record(
            first_contact_resolved=True, first_contact_resolution="已解释 Explained", customer_accepted=True
        ),
    )
    l1 = complaint_row(engine, instance_id).deadline_outcomes["L1"]
    assert (l1["done_at"], l1["met"]) == (at(27, 9, 5).isoformat(), True)
    assert engine.instance(instance_id).next_timer_at is None
