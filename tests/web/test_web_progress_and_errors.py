"""Issue 13: the customer's progress page (no account, no staff names, rate-limited) and the
403/404/500 pages in the app's layout, translated, with a way back."""

from __future__ import annotations

import re

import pytest
from flask import abort

from tests.web import case_day
from tests.web.support import client_of, csrf_token
from web import progress


def look_up(client, number: str, reference: str, language: str = "zh"):
    client.get(f"/language/{language}")
    token = csrf_token(client, "/progress")
    return client.post("/progress", data={"number": number, "reference": reference, "csrf_token": token})


def submitted(app) -> tuple[str, str]:
    customer = app.test_client()
    token = csrf_token(customer, "/complain")
    response = customer.post(
        "/complain",
        data={
            "customer_name": "孙女士",
            "customer_phone": "13600000003",
            "customer_account": "",
            "business_category": "internet_broadband",
            "description": "宽带无法登录 Cannot log in at all",
            "csrf_token": token,
        },
    )
    text = response.get_data(as_text=True)
    return re.search(r"TS-\d{8}-\d{4}", text).group(0), re.search(r"WEB-[A-Z0-9]{4}-[A-Z0-9]{4}", text).group(
        0
    )


def test_a_website_customer_sees_the_stage_with_number_and_receipt(procedure_app):
    number, receipt = submitted(procedure_app)
    answer = look_up(procedure_app.test_client(), number, receipt.lower())
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert number in text and "已收到，正在与您核实" in text
    assert "受理登记" not in text and "intake" not in text, "no internal step or code"


def test_a_closed_complaint_by_number_and_phone_shows_completed_and_no_staff(procedure_app, clock):
    engine = procedure_app.extensions["process_engine"]
    instance_id = case_day.closed_day(engine, clock)
    number = engine.instance(instance_id).business_key
    text = look_up(procedure_app.test_client(), number, "139-1234-5678").get_data(as_text=True)
    assert "已办结" in text
    for staff in ("ivy", "dora", "ned", "sue", "Ivy", "Dora", "Ned", "Sue"):
        assert staff not in re.sub(r"<[^>]+>", " ", text), staff
    wrong = look_up(procedure_app.test_client(), number, "13900000000")
    unknown = look_up(procedure_app.test_client(), "TS-20261127-9999", "139-1234-5678")
    assert wrong.status_code == unknown.status_code == 404
    assert "没有与该编号和凭证相符的投诉" in wrong.get_data(as_text=True)


def test_lookups_are_limited_per_address(procedure_app):
    client = procedure_app.test_client()
    for _ in range(progress.PER_ADDRESS):
        assert look_up(client, "TS-20261127-0001", "13900000000").status_code == 404
    refused = look_up(client, "TS-20261127-0001", "13900000000")
    assert refused.status_code == 429 and "查询次数过多" in refused.get_data(as_text=True)
    other = procedure_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert look_up(other, "TS-20261127-0001", "13900000000").status_code == 404, (
        "another address is not limited"
    )


def test_missing_fields_are_named(procedure_app):
    answer = look_up(procedure_app.test_client(), "", "")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "请填写投诉编号" in text and "请填写受理凭证号" in text


@pytest.fixture
def failing_app(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    app.add_url_rule("/boom", "boom", lambda: abort(500))
    return app


def test_404_and_500_are_pages_of_the_app_translated_with_a_way_back(procedure_app, failing_app):
    sue = client_of(procedure_app, "sue")
    sue.get("/language/zh")
    missing = sue.get("/no/such/page")
    text = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "未找到" in text and 'href="/inbox"' in text and "topbar" in text
    assert sue.get("/instances/4242").status_code == 404
    from web import accounts

    engine = failing_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "sam", "password-1", "Sam", [], ["supervisor"])
    sam = client_of(failing_app, "sam")
    sam.get("/language/zh")
    broken = sam.get("/boom")
    assert broken.status_code == 500 and "出错了" in broken.get_data(as_text=True)
    assert 'href="/inbox"' in broken.get_data(as_text=True)


def test_the_api_keeps_json_errors(procedure_app):
    response = procedure_app.test_client().get("/api/v1/nothing-here")
    assert response.status_code in (401, 404) and response.is_json
