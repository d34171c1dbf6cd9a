"""The waits that had no clock (issue 10): L3 intake, T1 plan approval, E3 extension decision,
E4 the centre's review of the reply; and ``deadline_span``, which reads their figures.

Each is a non-interrupting boundary timer whose span is ``deadline_span("<key>")`` of the
deployed procedure.toml; a firing records the breach like L2/L4/R4/T7 (``record_breach``,
the due being the due of the timer that fired) and the task stays open. The clock starts
on Friday 2026-11-27 09:00 (Shanghai).
"""

from __future__ import annotations

import pytest

from tasks.spans import span_of
from tests.procedure import support
from tests.procedure.support import CONFIG, at, complete, iso, open_elements, open_task


def recorded(engine, clock, **record_changes) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(**record_changes))
    return instance_id


def clocks_of(engine, instance_id: int) -> list[str]:
    return [row["clock"] for row in support.breaches(engine, instance_id)]


def test_l3_intake_not_in_the_flow_two_hours_after_receipt_records_the_breach(engine, clock):
    """L3: a letter received at 09:00 and still not recorded and verified at 11:00 is late."""
    instance_id = engine.start(actor="agent").instance_id
    assert open_task(engine, instance_id, "task_record_complaint").due_at == at(27, 11)
    clock.set(at(27, 11))
    assert engine.fire_all_due() == 0, "on the due instant itself nothing fires yet"
    clock.set(at(27, 11, 5))
    assert engine.fire_all_due() == 1
    assert support.breaches(engine, instance_id) == [
        {"clock": "L3", "due": at(27, 11), "at": at(27, 11, 5), "late_by_s": 300.0}
    ]
    assert open_elements(engine, instance_id) == ["task_record_complaint"], "the intake stays open"
    complete(
        engine,
        instance_id,
        "task_record_complaint",
        support.record(channel="letter", document_archive_ref="ARC-2026-0042"),
    )
    assert open_elements(engine, instance_id) == ["task_review_dispatch"]


def test_t1_plan_approval_waiting_past_its_span_records_the_breach_and_stays_open(engine, clock):
    """T1: the supervisor approves a major complaint's plan within review_deadlines.plan_approval."""
    instance_id = recorded(engine, clock, complaint_types=["major"])
    clock.set(at(27, 9, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(**support.major_plan()))
    approval = open_task(engine, instance_id, "task_approve_plan")
    assert approval.due_at == at(27, 9, 40)  # PT30M, a placeholder figure
    clock.set(at(27, 9, 41))
    engine.fire_all_due()
    assert support.breaches(engine, instance_id)[-1] == {
        "clock": "T1",
        "due": at(27, 9, 40),
        "at": at(27, 9, 41),
        "late_by_s": 60.0,
    }
    assert "task_approve_plan" in open_elements(engine, instance_id)
    complete(engine, instance_id, "task_approve_plan", support.plan_approved())
    assert "task_handle_order" in open_elements(engine, instance_id)


def test_e3_and_e4_review_waits_record_their_breaches(engine, clock):
    """E3: the extension is decided within 2 h; E4: the centre reviews the reply within 2 h."""
    instance_id = recorded(engine, clock)
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)
    clock.set(at(28, 15))
    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 18)))
    assert open_task(engine, instance_id, "task_decide_extension").due_at == at(28, 17)
    clock.set(at(28, 17, 30))
    engine.fire_all_due()
    assert clocks_of(engine, instance_id) == ["E3"]
    complete(engine, instance_id, "task_decide_extension", {"extension_approved": True})
    clock.set(at(28, 18))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    assert open_task(engine, instance_id, "task_review_reply").due_at == at(28, 20)
    clock.set(at(28, 20, 0, 1))
    engine.fire_all_due()
    assert clocks_of(engine, instance_id) == ["E3", "E4"]
    assert support.breaches(engine, instance_id)[-1]["due"] == at(28, 20)
    complete(engine, instance_id, "task_review_reply", support.review())
    assert open_elements(engine, instance_id) == ["task_reply_customer"]


def test_deadline_span_reads_tables_and_dotted_keys_of_procedure_toml():
    assert span_of(CONFIG, "first_reply_deadline") == "PT24H"
    assert span_of(CONFIG, "contact_window") == "PT48H"
    assert span_of(CONFIG, "review_deadlines.plan_approval") == "PT30M"
    assert span_of(CONFIG, "dispatch_deadlines.urgent") == "PT30M"
    assert span_of({"first_reply_deadline": {"span": "PT12H"}}, "first_reply_deadline") == "PT12H"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("first_reply_deadlines", "no key 'first_reply_deadlines'"),
        ("review_deadlines.plan_aproval", "no key 'review_deadlines.plan_aproval' ('plan_aproval' is not in"),
        ("review_deadlines", "[review_deadlines] in procedure.toml has no `span`"),
        ("contact_window.attempts", "'contact_window.attempts' in procedure.toml is 3, not an ISO duration"),
    ],
)
def test_deadline_span_refuses_unknown_keys_naming_the_key(key, message):
    with pytest.raises(ValueError, match="deadline_span") as refused:
        span_of(CONFIG, key)
    assert message in str(refused.value)


def test_a_breach_names_its_own_due_after_an_earlier_breach_came_back_from_a_completed_path(engine, clock):
    """L2 breached in review and dispatch (that path's data comes back to the map when it
    completes); the later E4 breach still records E4's own due, the due of the timer that fired."""
    instance_id = recorded(engine, clock)
    clock.set(at(27, 11, 0, 1))
    engine.fire_all_due()  # L2, due 11:00
    complete(engine, instance_id, "task_dispatch_breach_alert", {"supervision_note": "已催办 Reminded"})
    clock.set(at(27, 11, 30))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)
    clock.set(at(27, 15))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    clock.set(at(27, 17, 0, 1))
    engine.fire_all_due()  # E4, due 17:00
    assert [(row["clock"], row["due"]) for row in support.breaches(engine, instance_id)] == [
        ("L2", at(27, 11)),
        ("E4", at(27, 17)),
    ]
