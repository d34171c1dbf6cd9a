"""Issue 13: search across all complaints (open and closed) and the inbox's search by phone.

Real procedure, real engine; each person sees (and counts) only what web.access lets them open.
"""

from __future__ import annotations

import re

import pytest

from tests.procedure import support
from tests.procedure.support import at, complete
from tests.web import case_day
from tests.web.support import client_of, csrf_token
from web import accounts


@pytest.fixture
def complaints(procedure_app, clock):
    """A closed phone complaint (case_day), an open letter one and an open billing-category one."""
    engine = procedure_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "otto", "password-1", "Otto", ["dept:billing"], ["agent"])
    closed = case_day.closed_day(engine, clock)
    clock.set(at(30, 9))  # Monday
    letter = engine.start(actor="ivy").instance_id
    complete(
        engine,
        letter,
        "task_record_complaint",
        support.record(
            channel="letter",
            customer_name="赵女士",
            customer_phone="13700000001",
            customer_confirmed=True,
            document_archive_ref="L-2026-77",
        ),
        actor="ivy",
    )
    billing = engine.start(actor="ivy").instance_id
    complete(
        engine,
        billing,
        "task_record_complaint",
        support.record(customer_name="钱先生", customer_phone="13700000002", complaint_types=["major"]),
        actor="ivy",
    )
    return {"closed": closed, "letter": letter, "major": billing}


def _search(app, username: str, **query):
    client = client_of(app, username)
    client.get("/language/zh")
    return client.get("/complaints/search", query_string=query)


def _links(response) -> list[int]:
    return [int(n) for n in re.findall(r'href="/instances/(\d+)"', response.get_data(as_text=True))]


def test_a_closed_complaint_is_found_by_phone_number_name_or_account(procedure_app, complaints):
    closed = complaints["closed"]
    found = _search(procedure_app, "sue", q="139 1234 5678")
    assert found.status_code == 200 and _links(found) == [closed]
    text = found.get_data(as_text=True)
    assert "已结案" in text and case_day.NAME in text
    number = re.search(r"TS-\d{8}-\d{4}", text).group(0)
    assert _links(_search(procedure_app, "sue", q=number)) == [closed]
    assert _links(_search(procedure_app, "sue", q="李先")) == [closed]


def test_filters_status_type_channel_department_and_dates(procedure_app, complaints):
    app = procedure_app
    assert _links(_search(app, "sue", status="closed")) == [complaints["closed"]]
    assert sorted(_links(_search(app, "sue", status="open"))) == sorted(
        [complaints["letter"], complaints["major"]]
    )
    assert _links(_search(app, "sue", type="major")) == [complaints["major"]]
    assert _links(_search(app, "sue", channel="letter")) == [complaints["letter"]]
    assert _links(_search(app, "sue", department="network")) == [complaints["closed"]]
    assert _links(_search(app, "sue", **{"from": "2026-11-30"})) == [
        complaints["major"],
        complaints["letter"],
    ]
    assert _links(_search(app, "sue", to="2026-11-29")) == [complaints["closed"]]


def test_bad_filters_are_refused_naming_the_field(procedure_app, complaints):
    refused = _search(procedure_app, "sue", **{"from": "30/11/2026"})
    assert refused.status_code == 400 and "from：请填写日期" in refused.get_data(as_text=True)
    assert _search(procedure_app, "sue", channel="pigeon").status_code == 400


def test_results_come_in_pages(procedure_app, complaints):
    procedure_app.config["SEARCH_PAGE_SIZE"] = 2
    first = _search(procedure_app, "sue", q="1")
    assert first.status_code == 200
    text = first.get_data(as_text=True)
    assert "找到 3 件" in text and "第 1 页，共 2 页" in text and len(_links(first)) == 2
    second = _search(procedure_app, "sue", q="1", page=2)
    assert len(_links(second)) == 1
    assert set(_links(first)) | set(_links(second)) == set(complaints.values())


def test_each_person_finds_only_what_they_may_open(procedure_app, complaints):
    assert _links(_search(procedure_app, "ned", q="1")) == [complaints["closed"]]  # worked on it
    nothing = _search(procedure_app, "otto", q="13912345678")
    assert _links(nothing) == [] and "找到 0 件" in nothing.get_data(as_text=True)


def test_the_inbox_finds_a_website_complaint_awaiting_verification_by_phone(procedure_app):
    customer = procedure_app.test_client()
    token = csrf_token(customer, "/complain")
    submitted = customer.post(
        "/complain",
        data={
            "customer_name": "孙女士",
            "customer_phone": "136 0000 0003",
            "customer_account": "",
            "business_category": "internet_broadband",
            "description": "网站投诉：宽带无法登录 Cannot log in",
            "csrf_token": token,
        },
    )
    assert submitted.status_code == 201
    ivy = client_of(procedure_app, "ivy")
    inbox = ivy.get("/inbox", query_string={"q": "13600000003"})
    text = inbox.get_data(as_text=True)
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*孙女士(?:(?!</tr>).)*</tr>", text, flags=re.S)
    assert row, "the website complaint is found by the phone the customer gave"
    cells = row.group(0)
    assert "13600000003" in cells, "the phone cell is filled"
    assert 'data-label="Channel">Website / internet<' in cells, "the channel cell, by its label"
    assert 'data-label="Stage">Intake<' in cells, "the stage cell, in words"
    assert "孙女士" not in ivy.get("/inbox", query_string={"q": "13600000009"}).get_data(as_text=True)
