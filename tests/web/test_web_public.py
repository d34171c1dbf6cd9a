"""The website channel (C1 internet, A5): a public form starting a complaint for intake to verify."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bundle import load_bundle
from engine.models import Instance
from tasks import records
from tests.procedure import support
from tests.web.support import csrf_token, log_in
from web import accounts, public

BPMN = Path(__file__).resolve().parents[2] / "bpmn"

GOOD = {
    "customer_name": "王女士",
    "customer_phone": "138 0013 8000",
    "customer_account": "",
    "business_category": "internet_broadband",
    "description": "宽带三天没有信号 No broadband signal for three days",
}


@pytest.fixture
def app(make_app, clock):
    app = make_app(CLOCK=clock)
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(BPMN), actor="owner")
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "ivy", "password-1", "Ivy", ["intake"], ["agent"])
    return app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


def submit(client, **changes):
    token = csrf_token(client, "/complain")
    return client.post("/complain", data={**GOOD, **changes, "csrf_token": token})


def the_receipt(response) -> str:
    found = re.search(r"WEB-[A-Z0-9]{4}-[A-Z0-9]{4}", response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(0)


def test_the_form_needs_no_login_and_lists_the_deployed_categories(app):
    page = app.test_client().get("/complain", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="csrf_token"' in text
    assert 'value="internet_broadband"' in text and "Calling cards" in text


def test_chinese_too(app):
    page = app.test_client().get("/complain", headers={"Accept-Language": "zh-CN"})
    assert "我要投诉" in page.get_data(as_text=True)


def test_a_submission_starts_a_website_complaint_whose_intake_task_is_prefilled(app, engine):
    """A5: the intake agent finds the complaint filled in and must still verify it with the customer."""
    response = submit(app.test_client())
    assert response.status_code == 201
    receipt = the_receipt(response)
    with engine.reader() as session:
        row = session.scalars(select(public.WebsiteSubmission)).one()
    assert row.receipt == receipt and row.instance_id is not None
    instance = engine.instance(row.instance_id)
    number = re.search(r'class="number">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert instance.started_by == "website" and instance.business_key == number  # the customer has it
    data = engine.instance_data(row.instance_id)
    assert data["channel"] == "internet" and data["submitted_via"] == "website"
    assert data["website_receipt"] == receipt and "customer_account" not in data
    [intake] = engine.open_tasks(row.instance_id)
    assert intake.element_id == "task_record_complaint" and intake.candidate_group == "intake"

    ivy = app.test_client()
    log_in(ivy, "ivy", "password-1")
    page = ivy.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert re.search(r'<input id="f-customer_phone" name="customer_phone" value="138 0013 8000"', page)
    assert '<option value="internet" selected>' in page
    assert '<option value="internet_broadband" selected>' in page
    assert "No broadband signal for three days</textarea>" in page
    assert receipt in page  # the complaint so far: the customer can quote it on the call

    # A5: completing without verifying the details with the customer is refused.
    token = csrf_token(ivy, f"/tasks/{intake.id}")
    form = {
        "csrf_token": token,
        "action": "complete",
        "channel": "internet",
        "customer_name": GOOD["customer_name"],
        "customer_phone": GOOD["customer_phone"],
        "business_category": "internet_broadband",
        "nature_category": "installation_relocation",
        "complaint_types": "ordinary",
        "description": GOOD["description"],
    }
    refused = ivy.post(f"/tasks/{intake.id}", data=form)
    assert refused.status_code == 422 and 'id="error-details_verified"' in refused.get_data(as_text=True)
    done = ivy.post(f"/tasks/{intake.id}", data={**form, "details_verified": "on"})
    assert done.status_code == 302
    with engine.reader() as session:
        complaint = records.complaint_of_instance(session, row.instance_id)
    assert complaint.channel == "internet" and complaint.number == number  # the reserved one
    assert [task.element_id for task in engine.open_tasks(row.instance_id)] == ["task_review_dispatch"]


def test_other_tasks_still_open_empty(app, engine):
    """Only the intake task is pre-filled from the data; the dispatch form opens as before."""
    instance_id = engine.start(actor="ivy", data={"review_note": "from the data"}).instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record())
    [review] = engine.open_tasks(instance_id)
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "dora", "password-1", "Dora", ["cs_center"], ["agent"])
    dora = app.test_client()
    log_in(dora, "dora", "password-1")
    page = dora.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "from the data</textarea>" not in page


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"customer_name": "", "customer_phone": "", "description": ""},
            {"customer_name", "customer_phone", "description"},
        ),
        ({"customer_phone": "call me maybe"}, {"customer_phone"}),
        ({"customer_name": "x" * 101, "description": "y" * 4001}, {"customer_name", "description"}),
        ({"business_category": "no_such_category"}, {"business_category"}),
        ({"customer_account": "a" * 61}, {"customer_account"}),
    ],
)
def test_bad_input_shows_field_errors_keeps_the_text_and_starts_nothing(app, engine, changes, fields):
    client = app.test_client()
    response = submit(client, **changes)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    shown = set(re.findall(r'id="error-([a-z_]+)"', text))
    assert shown == fields
    if "description" not in fields:
        assert GOOD["description"] in text
    with engine.reader() as session:
        assert session.scalars(select(public.WebsiteSubmission)).all() == []


def test_the_sixth_submission_in_an_hour_from_one_address_is_refused(app, engine, clock):
    client = app.test_client()
    for _ in range(public.PER_ADDRESS):
        assert submit(client).status_code == 201
    refused = submit(client)
    assert refused.status_code == 429
    assert "Too many complaints" in refused.get_data(as_text=True)
    assert GOOD["description"] in refused.get_data(as_text=True)  # the text is kept
    other = app.test_client()
    assert submit(other).status_code == 429  # same address, another session
    elsewhere = other.post(
        "/complain",
        data={**GOOD, "csrf_token": csrf_token(other, "/complain")},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert elsewhere.status_code == 201
    clock.advance(timedelta(hours=1, seconds=1))
    assert submit(client).status_code == 201
    with engine.reader() as session:
        assert len(session.scalars(select(public.WebsiteSubmission)).all()) == public.PER_ADDRESS + 2


def test_csrf_is_required(app, engine):
    client = app.test_client()
    client.get("/complain")
    response = client.post("/complain", data=GOOD)
    assert response.status_code == 400
    with engine.reader() as session:
        assert session.scalars(select(public.WebsiteSubmission)).all() == []


def test_receipts_are_unique_and_unguessable():
    receipts = {public.new_receipt() for _ in range(200)}
    assert len(receipts) == 200
    assert all(re.fullmatch(r"WEB-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", receipt) for receipt in receipts)


def test_nothing_deployed_is_503(make_app):
    page = make_app().test_client().get("/complain")
    assert page.status_code == 503


def bundle_with(tmp_path: Path, name: str, old: str, new: str):
    target = tmp_path / name
    shutil.copytree(BPMN, target)
    diagram = target / "first_contact.bpmn"
    text = diagram.read_text()
    assert old in text
    diagram.write_text(text.replace(old, new, 1))
    return load_bundle(target)


def test_a_submission_whose_start_fails_takes_no_number(app, engine, tmp_path):
    """C4, issue 15: the number is reserved in the start's own transaction, so a start that fails
    (here the L3 timer's expression fails on the version new complaints start on) leaves no
    number taken, no submission row and no instance: the next one is 0001."""
    span = 'deadline_span("channel_transfer_deadline")'
    engine.deploy(bundle_with(tmp_path, "broken", span, "[][0]"), actor="owner")
    client = app.test_client()
    failed = submit(client)
    assert failed.status_code == 503
    with engine.reader() as session:
        assert session.scalars(select(public.WebsiteSubmission)).all() == []
        assert session.scalars(select(records.ComplaintNumber)).all() == []
        assert session.scalars(select(Instance)).all() == []

    engine.deploy(bundle_with(tmp_path, "mended", span, span.replace("(", "( ")), actor="owner")
    accepted = submit(client)
    assert accepted.status_code == 201
    number = re.search(r"TS-\d{8}-\d{4}", accepted.get_data(as_text=True)).group(0)
    assert number.endswith("-0001"), "gap-free: the failed start took no number"
    with engine.reader() as session:
        [submission] = session.scalars(select(public.WebsiteSubmission)).all()
        instance = session.get(Instance, submission.instance_id)
        assert (instance.business_key, instance.status) == (number, "running")
