"""Issue 11 items 2-4 on the real bundle in simulated time (Friday 2026-11-27 09:00 Shanghai).

R4 (item 3): the reply clock starts at the department's valid reply, the one the centre's
review (E4) then accepts, not at the acceptance; a returned reply (E5) starts nothing.
"""

from __future__ import annotations

import pytest

from tests.procedure import support
from tests.procedure.support import DEPARTMENT, at, complete, iso, open_task


def dispatched(engine, clock) -> int:
    """Recorded at 09:00, dispatched at 10:00 Friday 27th (L4 due Sunday 10:00)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)  # L1: the customer heard the progress
    return instance_id


def r4_row(engine, instance_id):
    return support.clock_rounds(engine, instance_id)[("R4", 1)]


# ----------------------------------------------------------------------------- item 3: R4


@pytest.mark.parametrize(
    ("replied", "accepted", "due"),
    [
        ((27, 11), (27, 13), (27, 15, 30)),  # the example: not 16:30
        ((27, 19, 59), (27, 19, 59), (28, 9, 59)),  # one working minute left, then 08:00 on
        ((27, 20), (28, 8, 30), (28, 10)),  # 20:00 is night already: 08:00 + 2 h
        ((27, 11, 59), (27, 14), (27, 16, 29)),  # one minute before lunch, 119 after 14:30
        ((27, 14, 30), (27, 16), (27, 16, 30)),  # the afternoon window opens
        ((28, 0), (28, 8, 5), (28, 10)),  # midnight: night until 08:00
    ],
    ids=["11:00->15:30", "19:59", "20:00", "11:59", "14:30", "midnight"],
)
def test_r4_starts_at_the_departments_valid_reply(engine, clock, replied, accepted, due):
    """R4, L5, E4: reply_due = 2 working hours from the department's reply the centre accepts;
    the reply task (the department's group) shows that due, the read model that start, and the
    timer fires on it."""
    instance_id = dispatched(engine, clock)
    clock.set(at(*replied))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    clock.set(at(*accepted))
    complete(engine, instance_id, "task_review_reply", support.review())

    reply = open_task(engine, instance_id, "task_reply_customer")
    assert (reply.candidate_group, reply.due_at) == (DEPARTMENT, at(*due))
    data = engine.instance_data(instance_id)
    assert (data["department_replied_at"], data["reply_due"]) == (iso(*replied), iso(*due))
    row = r4_row(engine, instance_id)
    assert (row.started_at, row.due_at, row.status) == (at(*replied), at(*due), "running")


def test_r4_a_returned_reply_starts_nothing_and_the_breach_is_on_the_accepted_ones_due(engine, clock):
    """E5, R4, L7: the 11:00 reply is returned at 11:30; the 15:00 rework is accepted at 16:00:
    R4 runs from 15:00 (due 17:00), and is missed when the customer hears at 17:30."""
    instance_id = dispatched(engine, clock)
    clock.set(at(27, 11))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    clock.set(at(27, 11, 30))
    complete(engine, instance_id, "task_review_reply", support.review(qualified=False))
    assert "reply_due" not in engine.instance_data(instance_id), "a returned reply starts no R4 clock"
    assert ("R4", 1) not in support.clock_rounds(engine, instance_id)

    clock.set(at(27, 15))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    clock.set(at(27, 16))
    complete(engine, instance_id, "task_review_reply", support.review())
    assert open_task(engine, instance_id, "task_reply_customer").due_at == at(27, 17)

    clock.set(at(27, 17))
    engine.fire_all_due()
    assert [b for b in support.breaches(engine, instance_id) if b["clock"] == "R4"] == []
    clock.set(at(27, 17, 0, 1))
    engine.fire_all_due()
    assert [b for b in support.breaches(engine, instance_id) if b["clock"] == "R4"] == [
        {"clock": "R4", "due": at(27, 17), "at": at(27, 17, 0, 1), "late_by_s": 1.0}
    ]
    clock.set(at(27, 17, 30))
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    r4 = support.deadlines(engine, instance_id)["R4"]
    assert (r4["due"], r4["met"], r4["late_by_s"]) == (iso(27, 17), False, 1800.0)
    row = r4_row(engine, instance_id)
    assert (row.started_at, row.stopped_at, row.status) == (at(27, 15), at(27, 17, 30), "missed")
    assert open_task(engine, instance_id, "task_return_visit")
