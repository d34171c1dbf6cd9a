"""Issue 11 items 3 and 4 on the real bundle in simulated time (Friday 2026-11-27 09:00 Shanghai).

R4 (item 3): the reply clock starts at the department's valid reply, the one the centre's
review (E4) then accepts, not at the acceptance; a returned reply (E5) starts nothing.
E2 (item 4): the proof that the outside body accepted the complaint, and the account in the
original's order. (Item 2, R6/L6, is in test_unreachable_customer.py.)
"""

from __future__ import annotations

import json

import pytest

from engine.errors import InvalidInput
from tests.procedure import support
from tests.procedure import test_one_clock as one_clock
from tests.procedure.support import DEPARTMENT, at, complete, iso, open_task

make_app = one_clock.make_app  # the Flask app fixture of the one-clock tests


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


# ----------------------------------------------------------------------------- item 4: E2

E2_ORDER = [
    "handling_summary",
    "earlier_authority_complaint",
    "authority_intake_proof",
    "first_complaint_at",
    "first_findings",
    "first_acceptance",
    "transfer_findings",
    "final_opinion",
]


def e2_reply(**changes):
    data = support.work_order_reply(
        company_responsible=False,
        handling_summary="核查计费记录 Billing records checked",
        earlier_authority_complaint=True,
        authority_intake_proof="sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        first_complaint_at="2026-11-02 09:30 向消协投诉 to the consumer association",
        first_findings="套餐资费正确，解释说明 Tariff correct, explained",
        first_acceptance="客户部分认可 Partly accepted",
        transfer_findings="复核后发现一次重复扣费 A double charge found on review",
        final_opinion="退还重复扣费 Double charge refunded",
        miit_feedback_form="FB-2026-077",
    )
    data.update(changes)
    return data


def test_e2_asks_for_the_bodys_proof_of_acceptance_and_the_account_in_the_originals_order(engine, clock):
    """E2 (issue 11 item 4): a customer who complained to the consumer association before needs
    that body's proof that it accepted the complaint (提供以上部门曾受理过此投诉的证明), not proof
    of the customer's acceptance; the account follows the original's order, each part refused
    by name when missing; the department's reply then goes to the centre's review."""
    form = json.loads(support.bundle().form_files["handle_order.json"])
    fields = list(form["properties"])
    assert [name for name in fields if name in E2_ORDER] == E2_ORDER
    assert "authority_acceptance_proof" not in fields and "earlier_authority_details" not in fields
    assert "受理" in form["properties"]["authority_intake_proof"]["title"]

    instance_id = engine.start(actor="desk").instance_id
    record = support.record(
        channel="miit", complaint_types=["escalated"], outside_deadline="2026-11-28T18:00+08:00"
    )
    complete(engine, instance_id, "task_record_complaint", record)
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    handling = open_task(engine, instance_id, "task_handle_order")
    assert (handling.candidate_group, handling.due_at) == (DEPARTMENT, at(28, 9))

    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", e2_reply(authority_intake_proof=" "))
    assert refused.value.field_errors == {
        "authority_intake_proof": (
            "E2: attach the proof that the government body or consumer association accepted this complaint"
        )
    }
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", e2_reply(first_acceptance="", final_opinion=""))
    assert refused.value.field_errors == {
        "first_acceptance": "E2: how far the customer accepted the reply to the first complaint",
        "final_opinion": "E2: the final opinion",
    }
    clock.set(at(27, 11))
    complete(engine, instance_id, "task_handle_order", e2_reply())
    review = open_task(engine, instance_id, "task_review_reply")
    assert review.candidate_group == support.CS_CENTER
    data = engine.instance_data(instance_id)
    assert data["authority_intake_proof"].startswith("sha256:2c26")
    assert (data["first_complaint_at"], data["final_opinion"]) == (
        "2026-11-02 09:30 向消协投诉 to the consumer association",
        "退还重复扣费 Double charge refunded",
    )
    assert data["department_replied_at"] == iso(27, 11)


def test_r4_every_reader_shows_the_start_at_the_departments_reply(make_app, clock):
    """R4, L7 (issue 11 item 3, the issue's example): replied 11:00, accepted 13:00: the inbox
    row, the complaint page, the warning sweep and the at-risk report all show R4 from 11:00,
    warning at 15:00 (75 % of 2 working hours, lunch excluded) and due 15:30."""
    app = make_app()
    engine = app.extensions["process_engine"]
    instance_id = one_clock.dispatched(engine, clock)
    clock.set(at(27, 11))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    clock.set(at(27, 13))
    complete(engine, instance_id, "task_review_reply", support.review())
    task = open_task(engine, instance_id, "task_reply_customer")
    [r4] = one_clock.swept(engine, clock.now(), "R4")
    assert (r4.start, r4.warn_at, r4.due_at) == (at(27, 11), at(27, 15), at(27, 15, 30))

    clock.set(at(27, 14, 59))
    one_clock.assert_one_clock(
        app,
        instance_id,
        "R4",
        task.id,
        "ned",
        now=clock.now(),
        state="",
        warn_at=at(27, 15),
        due=at(27, 15, 30),
    )
    clock.set(at(27, 15))
    one_clock.assert_one_clock(
        app,
        instance_id,
        "R4",
        task.id,
        "ned",
        now=clock.now(),
        state="soon",
        warn_at=at(27, 15),
        due=at(27, 15, 30),
    )
