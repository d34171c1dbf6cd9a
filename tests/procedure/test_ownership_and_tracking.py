"""A1 first-contact ownership and T6 end-to-end tracking of escalated complaints, as the
complaint record keeps them (tasks.records). Clock: Friday 2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

from tasks import records
from tests.procedure import support
from tests.procedure.support import at, complaint_row, complete

OUTSIDE = "2026-11-28T12:00+08:00"


def closed_complaint(engine, owner: str) -> int:
    instance_id = engine.start(actor=owner).instance_id
    record = support.record(separate_matter=True)  # T2: the same test customer, another matter
    complete(engine, instance_id, "task_record_complaint", record, actor=owner)
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(), actor="dora")
    complete(engine, instance_id, "task_handle_order", support.work_order_reply(), actor="ned")
    complete(engine, instance_id, "task_review_reply", support.review(), actor="dora")
    complete(engine, instance_id, "task_reply_customer", support.customer_reply(), actor="ned")
    complete(engine, instance_id, "task_return_visit", support.return_visit(), actor="dora")
    return instance_id


def test_a1_the_person_who_took_the_complaint_owns_it_until_it_is_closed(engine, clock):
    """A1: the record names whoever completed the record task, through every later hand, and
    "my complaints" lists the open ones they own (separate_matter: same customer, T2 check)."""
    instance_id = closed_complaint(engine, "ivy")
    assert (
        complaint_row(engine, instance_id).first_contact_owner,
        complaint_row(engine, instance_id).status,
    ) == (
        "ivy",
        "closed",
    )
    running = engine.start(actor="ivy").instance_id
    complete(engine, running, "task_record_complaint", support.record(separate_matter=True), actor="ivy")
    complete(engine, running, "task_review_dispatch", support.dispatch(), actor="dora")
    someone_elses = engine.start(actor="ian").instance_id
    complete(
        engine, someone_elses, "task_record_complaint", support.record(separate_matter=True), actor="ian"
    )
    with engine.reader() as session:
        mine = records.owned_by(session.connection(), "ivy")
        all_mine = records.owned_by(session.connection(), "ivy", open_only=False)
    assert [row.instance_id for row in mine] == [running]
    assert {row.instance_id for row in all_mine} == {running, instance_id}


def test_t6_the_record_tracks_each_open_escalated_complaint_with_its_outside_deadline_stage_and_holder(
    engine, clock
):
    """T6: the escalation desk's list: open escalated complaints only, the nearest outside
    deadline first, each with its stage and who holds it now (claimed: the person)."""
    later = engine.start(actor="esme").instance_id
    complete(
        engine,
        later,
        "task_record_complaint",
        support.record(
            channel="miit", complaint_types=["escalated"], outside_deadline="2026-11-30T12:00+08:00"
        ),
    )
    sooner = engine.start(actor="esme").instance_id
    complete(
        engine,
        sooner,
        "task_record_complaint",
        support.record(
            channel="miit", complaint_types=["escalated"], outside_deadline=OUTSIDE, separate_matter=True
        ),
    )
    complete(engine, sooner, "task_review_dispatch", support.dispatch())
    order = support.open_task(engine, sooner, "task_handle_order")
    engine.claim(order.id, actor="ned", actor_groups=["dept:network"])
    closed_complaint(engine, "ivy")  # ordinary, closed: not on the list
    with engine.reader() as session:
        listed = records.open_escalated(session.connection())
        holders = records.current_holders(session.connection(), [row.instance_id for row in listed], engine)
    assert [(row.instance_id, row.outside_due, row.stage) for row in listed] == [
        (sooner, at(28, 12), "handling"),
        (later, at(30, 12), "dispatch"),
    ]
    assert holders == {sooner: "ned", later: "cs_center"}
