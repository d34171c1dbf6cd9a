"""Second dispatch after a dissatisfied return visit (V1, H3, V2) and extensions (E3), in simulated time.

Clock: Friday 2026-11-27 09:00 Shanghai. Ordinary handling is 48 h, urgent 24 h (L4 placeholders).
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
    complaint_row,
    complete,
    iso,
    open_elements,
    open_task,
)


def dispatched(engine, clock) -> int:
    """Recorded 09:00, dispatched 10:00 Friday: handling due Sunday 10:00 (L4, 48 h)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)  # L1: the customer heard the progress
    return instance_id


def replied_and_visited(engine, instance_id, satisfied: bool) -> None:
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=satisfied))


# ----------------------------------------------------------------------------- V1 / H3 / V2


def test_v1_h3_not_properly_solved_goes_back_to_the_department_urgently_then_v2_accepted(engine, clock):
    """V1, H3, H1, L2, L4, V2: dissatisfied -> calmed and analysed -> second dispatch through
    the centre's review (urgent: 30 minutes from the decision; it may choose another
    department) -> a new 24-hour deadline from that dispatch, round 2 -> reply and return
    visit again -> the accepted result is final."""
    instance_id = dispatched(engine, clock)
    clock.set(at(28, 9))
    replied_and_visited(engine, instance_id, satisfied=False)
    analysis = open_task(engine, instance_id, "task_analyse_dissatisfaction")
    assert analysis.candidate_group == CS_CENTER
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis(customer_calmed=False))
    assert refused.value.field_errors["customer_calmed"].startswith("V1:")
    assert complaint_row(engine, instance_id).stage == "dissatisfaction_analysis"

    clock.set(at(28, 11))  # round 1 was due Sunday 10:00; round 2 is urgent
    complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("not_solved"))
    review = open_task(engine, instance_id, "task_review_dispatch")
    assert (review.candidate_group, review.priority, review.due_at) == (CS_CENTER, 10, at(28, 11, 30))
    assert complaint_row(engine, instance_id).stage == "dispatch"
    clock.set(at(28, 11, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(department="billing"))
    again = open_task(engine, instance_id, "task_handle_order")
    assert (again.candidate_group, again.priority, again.due_at) == ("dept:billing", 10, at(29, 11, 10))
    data = engine.instance_data(instance_id)
    assert (data["dispatch_round"], data["order_type"], data["handling_due"]) == (
        2,
        "urgent",
        iso(29, 11, 10),
    )
    rounds = support.clock_rounds(engine, instance_id)
    assert (rounds[("L4", 1)].status, rounds[("L4", 1)].due_at) == ("met", at(29, 10)), "L7: round 1 kept"
    assert (rounds[("L4", 2)].status, rounds[("L4", 2)].due_at) == ("running", at(29, 11, 10)), (
        "measured again"
    )
    assert (rounds[("L2", 2)].status, rounds[("L2", 2)].due_at) == ("met", at(28, 11, 30)), (
        "V1: reviewed again"
    )
    assert ("R4", 2) not in rounds, "R4 waits for round 2's reply"
    assert support.deadlines(engine, instance_id)["L4"]["met"] is None, "the record shows round 2"
    row = complaint_row(engine, instance_id)
    assert (row.priority, row.stage, row.status) == ("urgent", "handling", "open")

    clock.set(at(28, 16))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply(), actor="biller")
    complete(engine, instance_id, "task_review_reply", support.review())
    reply = open_task(engine, instance_id, "task_reply_customer")
    assert reply.candidate_group == "dept:billing", "the reply goes to the department of round 2"
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=True))
    data = engine.instance_data(instance_id)
    assert data["closure"]["outcome"] == "closed"
    l4 = support.deadlines(engine, instance_id)["L4"]
    assert (l4["due"], l4["met"]) == (iso(29, 11, 10), True)
    assert support.clock_rounds(engine, instance_id)[("R4", 2)].status == "met"
    assert complaint_row(engine, instance_id).outcome == "closed"


def test_v1_second_dispatch_keeps_the_l4_timer_on_the_new_deadline(engine, clock):
    """L4, L7: the round-2 handling task's timer fires at the new (urgent) deadline, written
    when the centre dispatched again."""
    instance_id = dispatched(engine, clock)
    clock.set(at(28, 9))
    replied_and_visited(engine, instance_id, satisfied=False)
    clock.set(at(28, 11))
    complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("not_solved"))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    clock.set(at(29, 10, 0, 1))  # round 1's deadline: its timer went with its task
    assert engine.fire_all_due() == 0
    clock.set(at(29, 11, 0, 1))
    assert engine.fire_all_due() == 1
    [breach] = breaches(engine, instance_id)
    assert (breach["clock"], breach["due"]) == ("L4", at(29, 11))


# ----------------------------------------------------------------------------- E3


def test_e3_extension_approved_moves_the_l4_timer_and_records_old_and_new_due(engine, clock):
    """E3, L4, L7: the department asks for more time with progress and reason; the supervisor
    approves; handling_due and the task's timer move to the new deadline; old and new kept."""
    instance_id = dispatched(engine, clock)  # handling due Sunday 29th 10:00
    clock.set(at(28, 15))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", {"request_extension": True})
    assert set(refused.value.field_errors) == {"extension_progress", "extension_reason", "extension_until"}
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", support.extension_request(iso(29, 9)))
    assert refused.value.field_errors["extension_until"].startswith("E3:")

    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 18)))
    decision = open_task(engine, instance_id, "task_decide_extension")
    assert decision.candidate_group == SUPERVISOR
    assert complaint_row(engine, instance_id).stage == "extension_requested"
    # (L4's timer guards the handling task alone, so the request stops it until the decision
    # re-arms it; the timers branch draws L4 around handling and the E3 decision.)

    clock.set(at(28, 16))
    complete(engine, instance_id, "task_decide_extension", {"extension_approved": True})
    handling = open_task(engine, instance_id, "task_handle_order")
    assert handling.due_at == at(30, 18)
    data = engine.instance_data(instance_id)
    assert data["handling_due"] == iso(30, 18)
    [extension] = data["extensions"]
    assert (extension["old_due"], extension["new_due"], extension["approved_at"]) == (
        iso(29, 10),
        iso(30, 18),
        iso(28, 16),
    )
    assert extension["reason"] == "需要市政审批 Needs the city's permit"
    l4 = complaint_row(engine, instance_id).deadline_outcomes["L4"]  # the read model, from the timers
    assert (l4["due"], l4["first_due"], l4["extensions"], l4["met"]) == (iso(30, 18), iso(29, 10), 1, None)

    clock.set(at(29, 10, 0, 1))  # the old deadline passes: nothing fires
    assert engine.fire_all_due() == 0
    clock.set(at(30, 18, 0, 1))  # the new one does
    assert engine.fire_all_due() == 1
    assert [b["due"] for b in breaches(engine, instance_id)] == [at(30, 18)]
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    outcome = support.deadlines(engine, instance_id)["L4"]
    assert (outcome["due"], outcome["met"], outcome["late_by_s"]) == (iso(30, 18), False, 1.0)


def test_l4_keeps_running_while_the_extension_waits_for_the_e3_decision(engine, clock):
    """L4, E3, E5, L7: the L4 timer guards the handling and the extension decision together
    (sub_handling_order), so a request still undecided at handling_due breaches L4 (and E3 its
    own wait); the approved deadline re-arms it, and an E5 return re-enters on the same due."""
    instance_id = dispatched(engine, clock)  # handling due Sunday 29th 10:00
    clock.set(at(29, 9))
    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 18)))
    decision = open_task(engine, instance_id, "task_decide_extension")
    assert decision.due_at == at(29, 10), "the earlier of E3 (11:00) and L4 (10:00) guards it"

    clock.set(at(29, 10))
    assert engine.fire_all_due() == 0, "on the due instant itself nothing fires yet"
    clock.set(at(29, 10, 0, 1))
    assert engine.fire_all_due() == 1
    assert breaches(engine, instance_id) == [
        {"clock": "L4", "due": at(29, 10), "at": at(29, 10, 0, 1), "late_by_s": 1.0}
    ]
    assert open_elements(engine, instance_id) == ["task_decide_extension"], "the decision stays open"
    clock.set(at(29, 11, 0, 1))
    assert engine.fire_all_due() == 1
    assert [(b["clock"], b["due"]) for b in breaches(engine, instance_id)] == [
        ("L4", at(29, 10)),
        ("E3", at(29, 11)),
    ]

    clock.set(at(29, 12))
    complete(engine, instance_id, "task_decide_extension", {"extension_approved": True})
    assert open_task(engine, instance_id, "task_handle_order").due_at == at(30, 18)
    clock.set(at(30, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    clock.set(at(30, 9, 30))
    complete(engine, instance_id, "task_review_reply", support.review(qualified=False))  # E5
    assert open_task(engine, instance_id, "task_handle_order").due_at == at(30, 18), "not restarted"
    clock.set(at(30, 18, 0, 1))
    assert engine.fire_all_due() == 1
    assert [(b["clock"], b["due"]) for b in breaches(engine, instance_id)][-1] == ("L4", at(30, 18))
    clock.set(at(30, 19))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    outcome = support.deadlines(engine, instance_id)["L4"]
    assert (outcome["due"], outcome["met"], outcome["late_by_s"]) == (iso(30, 18), False, 3600.0)


def test_e3_extension_refused_keeps_the_deadline_and_needs_a_reason(engine, clock):
    """E3: a refusal states its reason; the order goes back with the deadline unchanged."""
    instance_id = dispatched(engine, clock)
    clock.set(at(28, 15))
    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 18)))
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_decide_extension", {"extension_approved": False})
    assert refused.value.field_errors["extension_note"].startswith("E3:")
    complete(
        engine,
        instance_id,
        "task_decide_extension",
        {"extension_approved": False, "extension_note": "理由不充分 Not a special reason"},
    )
    assert open_elements(engine, instance_id) == ["task_handle_order"]
    assert open_task(engine, instance_id, "task_handle_order").due_at == at(29, 10)
    assert engine.instance_data(instance_id)["extensions"] == []
