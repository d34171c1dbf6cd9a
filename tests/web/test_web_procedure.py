"""The web layer's part of the procedure: T2 reminders and L1 progress replies reach the running complaint."""

from __future__ import annotations

import re

import pytest

from tasks import records
from tests.procedure import support
from tests.web.support import client_of, csrf_token
from web import api_tokens


@pytest.fixture
def app(procedure_app):
    return procedure_app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


def running_complaint(engine) -> tuple[int, str]:
    instance_id = engine.start(actor="ivy").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record())
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    with engine.reader() as session:
        return instance_id, records.complaint_of_instance(session.connection(), instance_id).number


def test_a_repeat_call_completed_through_the_api_reminds_the_running_complaint(app, engine):
    """T2: the call ends merged into the running complaint, whose department gets a reminder task."""
    running, number = running_complaint(engine)
    with engine.writer() as session, session.begin():
        token = api_tokens.issue_token(session, "ivy", "tests")
    [intake] = engine.start(actor="ivy").opened_task_ids
    answer = app.test_client().post(
        f"/api/v1/tasks/{intake}/complete",
        headers={"Authorization": f"Bearer {token}"},
        json={"data": support.record(repeat_of=number, description="Chasing again")},
    )
    assert answer.status_code == 200 and answer.json["status"] == "completed"
    assert "warning" not in answer.json
    assert sorted(support.open_elements(engine, running)) == ["task_handle_order", "task_handle_reminder"]


def test_a_department_records_that_it_told_the_customer_the_progress(app, engine):
    """L1: the progress reply reaches the complaint and counts as its first reply."""
    running, _ = running_complaint(engine)
    ned = client_of(app, "ned")
    token = csrf_token(ned, f"/instances/{running}")
    told = {"note": "Engineer booked for tomorrow", "csrf_token": token}
    assert ned.post(f"/instances/{running}/progress", data=told).status_code == 302
    with engine.reader() as session:
        complaint = records.complaint_of_instance(session.connection(), running)
    assert complaint.first_reply_at is not None


def test_the_inbox_row_shows_the_complaints_customer_channel_flags_and_stage(app, engine):
    running, number = running_complaint(engine)
    ned = client_of(app, "ned")
    page = ned.get("/inbox").get_data(as_text=True)
    row = page[page.index(number) :]
    row = row[: row.index("</tr>")]
    assert support.record()["customer_name"] in row and support.record()["customer_phone"] in row
    with engine.reader() as session:
        stage = records.complaint_of_instance(session.connection(), running).stage
    assert stage == "handling"  # shown by its words and its config label, never the code (issue 13)
    assert ">Phone<" in row and ">Department handling<" in row and ">Network department<" in row
    assert ">phone<" not in row and ">handling<" not in row and "dept:network" not in row
    ned.get("/language/zh")
    page = ned.get("/inbox").get_data(as_text=True)
    row = page[page.index(number) :]
    row = row[: row.index("</tr>")]
    assert ">来电<" in row and ">部门工单处理<" in row and ">网络部<" in row and "剩余" in row


def test_the_inbox_finds_complaints_by_phone_and_by_type(app, engine):
    """H1 types and the customer's phone, as agents search for them."""
    ordinary = engine.start(actor="ivy").instance_id
    support.complete(engine, ordinary, "task_record_complaint", support.record())
    major = engine.start(actor="ivy").instance_id
    support.complete(
        engine,
        major,
        "task_record_complaint",
        support.record(customer_phone="13911112222", complaint_types=["major"], separate_matter=True),
    )
    dispatcher = client_of(app, "dora")
    with engine.reader() as session:
        major_number = records.complaint_of_instance(session.connection(), major).number
        ordinary_number = records.complaint_of_instance(session.connection(), ordinary).number
    everything = dispatcher.get("/inbox").get_data(as_text=True)
    assert major_number in everything and ordinary_number in everything  # both await dispatch
    by_major = dispatcher.get("/inbox?type=major").get_data(as_text=True)
    assert major_number in by_major and ordinary_number not in by_major
    by_phone = dispatcher.get("/inbox?q=139-1111-2222").get_data(as_text=True)
    assert major_number in by_phone and ordinary_number not in by_phone
    assert dispatcher.get("/inbox?type=nonsense").status_code == 400


def test_a_repeat_complaints_task_shows_the_earlier_complaint_and_its_reply(app, engine):
    """R1, T3: the reply to a repeat must be consistent with the earlier one, so it is shown."""
    earlier = engine.start(actor="ivy").instance_id
    support.complete(engine, earlier, "task_record_complaint", support.record())
    for element, data in (
        ("task_review_dispatch", support.dispatch()),
        ("task_handle_order", support.work_order_reply()),
        ("task_review_reply", support.review()),
        ("task_reply_customer", support.customer_reply(reply_text="Port replaced; sorry for the wait")),
        ("task_return_visit", support.return_visit()),
    ):
        support.complete(engine, earlier, element, data)
    with engine.reader() as session:
        number = records.complaint_of_instance(session.connection(), earlier).number
    repeat = engine.start(actor="ivy").instance_id
    support.complete(
        engine,
        repeat,
        "task_record_complaint",
        support.record(
            repeat_of=number,
            complaint_types=["repeat"],
            repeat_reason="Dropped again",
        ),
    )
    [review] = engine.open_tasks(repeat)
    dora = client_of(app, "dora")
    page = dora.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert number in page and "Port replaced; sorry for the wait" in page
    # the history in words: the step's name, not its element id (issue 13)
    assert re.search(r"<strong>someone</strong> completed\s*Record the complaint</li>", page)
    assert "task_record_complaint" not in page


def test_the_complaint_page_lists_every_clock_with_its_outcome(app, engine, clock):
    """L7: L2 met or missed by how much, L4 still running, each with its due instant."""
    from datetime import timedelta

    instance_id = engine.start(actor="ivy").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record())
    clock.advance(timedelta(hours=3))  # L2 (2 hours) missed by one hour
    engine.fire_all_due()
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    page = client_of(app, "sue").get(f"/instances/{instance_id}").get_data(as_text=True)
    table = page[page.index('class="clocks"') : page.index("</table>", page.index('class="clocks"'))]
    l2_cell = "<strong>L2 Review and dispatch</strong>"  # the rule id with a readable name
    l2 = table[table.index(l2_cell) : table.index("</tr>", table.index(l2_cell))]
    assert "missed by 60 min" in l2
    l4_cell = "<strong>L4 Department handling</strong>"
    l4 = table[table.index(l4_cell) : table.index("</tr>", table.index(l4_cell))]
    assert '<span class="left">2 d 0 h left</span>' in l4, "a running clock shows its time left (issue 13)"


def test_t5_the_escalation_desk_starts_a_transfer_at_its_own_entry(app, engine):
    """T5: a desk member's new complaint is the desk's record task; other groups may not start one."""
    from web import accounts

    with engine.writer() as session, session.begin():
        accounts.create_user(session, "esme", "password-1", "Esme", ["escalation_desk"], ["agent"])
    desk = client_of(app, "esme")
    assert 'action="/complaints/new"' in desk.get("/inbox").get_data(as_text=True)
    started = desk.post("/complaints/new", data={"csrf_token": csrf_token(desk, "/inbox")})
    assert started.status_code == 302
    [row] = [task for task in _all_open(engine) if task.element_id == "task_record_complaint"]
    assert row.candidate_group == "escalation_desk" and started.location.endswith(f"/tasks/{row.id}")
    assert desk.get(f"/tasks/{row.id}").status_code == 200

    network = client_of(app, "ned")
    refused = network.post("/complaints/new", data={"csrf_token": csrf_token(network, "/inbox")})
    assert refused.status_code == 403


def _all_open(engine):
    from sqlalchemy import select

    from engine.models import HumanTask

    with engine.reader() as session:
        return session.scalars(select(HumanTask).where(HumanTask.status == "open")).all()


def test_h4_the_work_order_page_offers_uploaded_files_as_evidence_and_requires_them_for_a_likely_dispute(
    app, engine
):
    """H4: the department uploads a file, ticks its SHA-256 as evidence; without it a likely
    dispute is refused with the field named and nothing saved."""
    import hashlib
    import io

    running, _ = running_complaint(engine)
    order = support.open_task(engine, running, "task_handle_order")
    ned = client_of(app, "ned")
    token = csrf_token(ned, f"/tasks/{order.id}")
    form = {
        key: str(value).lower() if isinstance(value, bool) else value
        for key, value in support.work_order_reply().items()
    }
    form.update(
        handling_final="on",
        service_restored="on",
        concentrated="",
        dispute_likely="on",
        csrf_token=token,
        action="complete",
    )
    refused = ned.post(f"/tasks/{order.id}", data=form)
    assert refused.status_code == 422
    assert 'id="error-evidence_refs"' in refused.get_data(as_text=True)
    assert support.open_task(engine, running, "task_handle_order").id == order.id

    content = b"engineer's site report, signed by the customer"
    ned.post(
        f"/tasks/{order.id}/evidence",
        data={"evidence": (io.BytesIO(content), "site-report.pdf"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    reference = f"sha256:{hashlib.sha256(content).hexdigest()}"
    page = ned.get(f"/tasks/{order.id}").get_data(as_text=True)
    assert f'name="evidence_refs" value="{reference}"' in page
    form["evidence_refs"] = reference
    assert ned.post(f"/tasks/{order.id}", data=form).status_code == 302
    data = engine.instance_data(running)
    assert (data["dispute_likely"], data["evidence_refs"]) == (True, [reference])


def test_t6_the_escalation_desk_tracks_every_open_escalated_complaint_and_others_are_refused(app, engine):
    """T6: the desk's list names the outside deadline, the stage and who holds the complaint now;
    the desk opens the complaint page though no task of it was the desk's; others get 403."""
    from web import accounts

    with engine.writer() as session, session.begin():
        accounts.create_user(session, "esme", "password-1", "Esme", ["escalation_desk"], ["agent"])
    ordinary, ordinary_number = running_complaint(engine)
    escalated = engine.start(actor="ivy").instance_id
    support.complete(
        engine,
        escalated,
        "task_record_complaint",
        support.record(
            channel="miit",
            complaint_types=["escalated"],
            outside_deadline="2026-11-28T12:00+08:00",
            separate_matter=True,
        ),
        actor="ivy",
    )
    support.complete(engine, escalated, "task_review_dispatch", support.dispatch(), actor="dora")
    with engine.reader() as session:
        number = records.complaint_of_instance(session.connection(), escalated).number

    desk = client_of(app, "esme")
    assert "/complaints/escalated" in desk.get("/inbox").get_data(as_text=True)
    board = desk.get("/complaints/escalated")
    assert board.status_code == 200
    page = board.get_data(as_text=True)
    assert ordinary_number not in page
    row = page[page.index(number) :]
    row = row[: row.index("</tr>")]
    assert "2026-11-28 12:00" in row and ">handling<" in row and ">dept:network<" in row
    assert desk.get(f"/instances/{escalated}").status_code == 200
    assert desk.get(f"/instances/{ordinary}").status_code == 403, "only escalated complaints"

    for outsider in ("ivy", "ned", "dora"):
        assert client_of(app, outsider).get("/complaints/escalated").status_code == 403
    assert client_of(app, "sue").get("/complaints/escalated").status_code == 200  # supervisor oversees


def test_a1_the_first_contact_owner_finds_my_complaints_and_the_page_names_the_owner(app, engine):
    """A1: ivy recorded the complaint; it stays hers through the department's hands: her list
    shows it (not others'), and the complaint page names her as first-contact owner."""
    running, number = running_complaint(engine)  # recorded by the helper's "someone"
    mine = engine.start(actor="ivy").instance_id
    support.complete(engine, mine, "task_record_complaint", support.record(separate_matter=True), actor="ivy")
    support.complete(engine, mine, "task_review_dispatch", support.dispatch(), actor="dora")
    with engine.reader() as session:
        my_number = records.complaint_of_instance(session.connection(), mine).number

    ivy = client_of(app, "ivy")
    assert "/complaints/mine" in ivy.get("/inbox").get_data(as_text=True)
    page = ivy.get("/complaints/mine").get_data(as_text=True)
    assert my_number in page and number not in page
    row = page[page.index(my_number) :]
    assert ">handling<" in row[: row.index("</tr>")]
    assert my_number not in client_of(app, "ned").get("/complaints/mine").get_data(as_text=True)
    owner = "First-contact owner (A1): Ivy"  # by the name colleagues know (issue 13: the case file)
    assert owner in ivy.get(f"/instances/{mine}").get_data(as_text=True)


def test_h7_the_appeal_feedback_form_of_a_miit_transfer_is_filled_in_from_the_complaint(app, engine):
    """H7: the User Appeal Handling Feedback Form lays out the E1/E2 reply with its reference;
    only MIIT transfers have one, and only people who may see the complaint see it."""
    from web import accounts

    instance_id = engine.start(actor="ivy").instance_id
    record = support.record(
        channel="miit", complaint_types=["escalated"], outside_deadline="2026-11-28T12:00+08:00"
    )
    support.complete(engine, instance_id, "task_record_complaint", record)
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    sue = client_of(app, "sue")
    page = sue.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f"/instances/{instance_id}/appeal-feedback" in page  # linked from the complaint page
    before = sue.get(f"/instances/{instance_id}/appeal-feedback").get_data(as_text=True)
    assert "FB-2026-001" not in before and "王女士" in before  # filled in as far as recorded
    reply = support.escalated_work_order_reply()
    support.complete(engine, instance_id, "task_handle_order", reply)
    response = sue.get(f"/instances/{instance_id}/appeal-feedback")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<strong class="feedback-reference">FB-2026-001</strong>' in text
    for value in ("网络部 Network", "更换端口 Port replaced", reply["cause"], "13800138000"):
        assert value in text, value

    ordinary = engine.start(actor="ivy").instance_id
    support.complete(engine, ordinary, "task_record_complaint", support.record(customer_phone="13900139000"))
    assert sue.get(f"/instances/{ordinary}/appeal-feedback").status_code == 404
    assert f"/instances/{ordinary}/appeal-feedback" not in sue.get(f"/instances/{ordinary}").get_data(
        as_text=True
    )
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "olga", "password-1", "Olga", ["billing_clerks"], ["agent"])
    assert client_of(app, "olga").get(f"/instances/{instance_id}/appeal-feedback").status_code == 403
