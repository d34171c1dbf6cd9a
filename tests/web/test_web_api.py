"""The JSON API: tokens, the inbox, claiming, completing, errors naming fields, the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest
from openapi_spec_validator import validate

from engine.bundle import load_bundle
from tests.web.support import api_caller
from web import accounts

BUNDLE = Path(__file__).with_name("bundles") / "forms"


@pytest.fixture
def app(make_app, clock):
    app = make_app(CLOCK=clock)
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(BUNDLE), actor="owner")
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "clara", "password-1", "Clara", ["clerks"], ["agent"])
        accounts.create_user(session, "mona", "password-1", "Mona", ["managers"], ["agent"])
    return app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


api = api_caller


def a_task(engine) -> str:
    [task_id] = engine.start(actor="clara", business_key="TS-0042").opened_task_ids
    return task_id


GOOD = {"summary": "No signal", "channel": "phone", "kinds": ["major"], "amount": 3}


def test_the_openapi_document_is_valid_and_public(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    validate(response.json)
    assert set(response.json["paths"]) == {
        "/tasks",
        "/tasks/{task_id}",
        "/tasks/{task_id}/claim",
        "/tasks/{task_id}/complete",
        "/complaints",
        "/complaints/{number}",
    }


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer cpt_not-a-token", "Basic abc"])
def test_no_valid_token_is_401_in_json(app, header):
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/tasks", headers=headers)
    assert response.status_code == 401
    assert "error" in response.json


def test_the_inbox_lists_the_callers_tasks(app, engine):
    task_id = a_task(engine)
    listing = api(app, "clara").get("/tasks").json
    assert [task["id"] for task in listing["tasks"]] == [task_id]
    assert listing["tasks"][0]["business_key"] == "TS-0042" and listing["total"] == 1
    assert api(app, "mona").get("/tasks").json["tasks"] == []


def test_a_task_comes_with_its_form(app, engine):
    task_id = a_task(engine)
    task = api(app, "clara").get(f"/tasks/{task_id}").json
    assert task["form"]["required"] == ["summary", "channel", "kinds", "amount"]


def test_another_groups_task_is_403_without_its_data(app, engine):
    task_id = a_task(engine)
    for response in (
        api(app, "mona").get(f"/tasks/{task_id}"),
        api(app, "mona").post(f"/tasks/{task_id}/claim"),
        api(app, "mona").post(f"/tasks/{task_id}/complete", json={"data": GOOD}),
    ):
        assert response.status_code == 403
        assert "form" not in response.json
    assert engine.task(task_id).status == "open"


def test_claiming_again_is_200_for_the_holder(app, engine):
    task_id = a_task(engine)
    clara = api(app, "clara")
    assert clara.post(f"/tasks/{task_id}/claim").json["assignee"] == "clara"
    second = clara.post(f"/tasks/{task_id}/claim")
    assert second.status_code == 200 and second.json["assignee"] == "clara"


def test_bad_input_is_422_naming_each_field_and_saves_nothing(app, engine):
    task_id = a_task(engine)
    response = api(app, "clara").post(
        f"/tasks/{task_id}/complete", json={"data": {"summary": "ab", "amount": -1, "kinds": []}}
    )
    assert response.status_code == 422
    assert {"summary", "amount", "kinds", "channel"} <= set(response.json["fields"])
    assert engine.task(task_id).status == "open"


@pytest.mark.parametrize("body", ["not json", '["a list"]', '{"data": "not an object"}'])
def test_a_body_that_is_not_an_object_is_400(app, engine, body):
    task_id = a_task(engine)
    response = api(app, "clara").post(
        f"/tasks/{task_id}/complete", data=body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json["fields"] == {"data": "an object"}


def test_complete_moves_the_work_on(app, engine):
    task_id = a_task(engine)
    done = api(app, "clara").post(f"/tasks/{task_id}/complete", json={"data": GOOD})
    assert done.status_code == 200 and done.json["status"] == "running"
    [next_task] = done.json["opened_task_ids"]
    assert api(app, "mona").get(f"/tasks/{next_task}").json["name"] == "Check the form"
    again = api(app, "clara").post(f"/tasks/{task_id}/complete", json={"data": GOOD})
    assert again.status_code == 409


def test_unknown_task_is_404_and_bad_page_is_400(app):
    clara = api(app, "clara")
    assert clara.get("/tasks/nope").status_code == 404
    assert clara.get("/tasks?page=0").json["fields"] == {"page": "a positive whole number"}


def test_the_cli_issues_a_token_that_works(app, run):
    result = run("users", "token", "clara")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert run("users", "token", "nobody").exit_code == 1
