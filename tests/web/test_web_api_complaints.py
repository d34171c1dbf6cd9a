"""The JSON API's complaints: record one in a single request, read its record."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.models import Instance
from tests.procedure import support
from tests.web.support import api_caller


@pytest.fixture
def app(procedure_app):
    return procedure_app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


api = api_caller


def instances(engine) -> int:
    with engine.reader() as session:
        return session.scalar(select(func.count()).select_from(Instance))


def test_recording_a_complaint_numbers_it_and_sends_it_to_dispatch(app, engine):
    created = api(app, "ivy").post("/complaints", json={"data": support.record()})
    assert created.status_code == 201, created.json
    body = created.json
    assert body["number"].startswith("TS-20261127-") and body["status"] == "open"
    assert body["stage"] == "dispatch"
    [review] = support.open_elements(engine, body["instance_id"])
    assert review == "task_review_dispatch"
    assert engine.instance(body["instance_id"]).started_by == "ivy"


def test_first_contact_resolution_is_closed_at_once(app, engine):
    data = support.record(
        first_contact_resolved=True, first_contact_resolution="Explained the bill", customer_accepted=True
    )
    body = api(app, "ivy").post("/complaints", json={"data": data}).json
    assert body["status"] == "closed" and body["number"]


def test_refused_fields_are_422_and_start_nothing(app, engine):
    ivy = api(app, "ivy")
    response = ivy.post("/complaints", json={"data": support.record(channel="internet", customer_name="")})
    assert response.status_code == 422
    assert set(response.json["fields"]) >= {"customer_name"}
    validator = ivy.post("/complaints", json={"data": support.record(channel="internet")})
    assert validator.status_code == 422 and "details_verified" in validator.json["fields"]  # A5
    assert instances(engine) == 0


@pytest.mark.parametrize("body", ["not json", '["a list"]', '{"data": "not an object"}', "{}"])
def test_a_body_without_a_data_object_is_400(app, body):
    response = api(app, "ivy").post("/complaints", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["fields"] == {"data": "an object"}


def test_only_the_intake_group_records(app, engine):
    response = api(app, "dora").post("/complaints", json={"data": support.record()})
    assert response.status_code == 403 and "intake" in response.json["error"]
    assert instances(engine) == 0


def test_a_t2_call_is_merged_and_the_running_complaint_reminded(app, engine):
    ivy = api(app, "ivy")
    first = ivy.post("/complaints", json={"data": support.record()}).json
    support.complete(engine, first["instance_id"], "task_review_dispatch", support.dispatch())
    unlinked = ivy.post("/complaints", json={"data": support.record(description="Again")})
    assert unlinked.status_code == 422 and "T2" in unlinked.json["fields"]["repeat_of"]
    merged = ivy.post("/complaints", json={"data": support.record(repeat_of=first["number"])})
    assert merged.status_code == 201
    assert merged.json["number"] is None and merged.json["status"] == "merged"
    assert merged.json["merged_into"] == first["number"] and "warning" not in merged.json
    assert sorted(support.open_elements(engine, first["instance_id"])) == [
        "task_handle_order",
        "task_handle_reminder",
    ]
    record = ivy.get(f"/complaints/{first['number']}").json
    assert record["reminders"] == 1


def test_the_record_shows_status_stage_flags_and_deadlines(app, engine):
    data = support.record(complaint_types=["major"])
    number = api(app, "ivy").post("/complaints", json={"data": data}).json["number"]
    record = api(app, "ivy").get(f"/complaints/{number}")
    assert record.status_code == 200
    body = record.json
    assert body["number"] == number and body["status"] == "open" and body["stage"] == "dispatch"
    assert body["flags"] == ["major"] and body["priority"] == "urgent"
    assert body["channel"] == "phone" and body["customer_phone"] == "13800138000"
    assert body["deadlines"]["L2"]["due"] and body["deadlines"]["L2"]["met"] is None
    assert body["deadlines"]["L1"]["due"]


def test_the_record_is_for_those_who_worked_on_it_and_supervisors(app, engine):
    number = api(app, "ivy").post("/complaints", json={"data": support.record()}).json["number"]
    assert api(app, "dora").get(f"/complaints/{number}").status_code == 200  # its dispatch task's group
    assert api(app, "sue").get(f"/complaints/{number}").status_code == 200  # supervisor
    refused = api(app, "ned").get(f"/complaints/{number}")  # not dispatched to the department yet
    assert refused.status_code == 403 and "customer_phone" not in refused.json
    assert api(app, "ivy").get("/complaints/TS-19990101-0001").status_code == 404
    assert app.test_client().get(f"/api/v1/complaints/{number}").status_code == 401
