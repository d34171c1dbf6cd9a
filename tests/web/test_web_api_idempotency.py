"""Idempotency keys on the API's commands, and the complaint intake as one transaction.

A call-centre system that lost an answer sends the request again with the same
``Idempotency-Key``: it must get the first answer, never a second complaint or a
conflict on its own completion.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from engine.models import AuditEvent, HumanTask, Instance
from tests.procedure import support
from web import accounts, api_tokens

HEADER = "Idempotency-Key"


@pytest.fixture
def app(procedure_app):
    engine = procedure_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "iris", "password-1", "Iris", ["intake"], ["agent"])
    return procedure_app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


class Api:
    """Requests to /api/v1 with a token of ``username`` and, when given, an idempotency key."""

    def __init__(self, app, username: str) -> None:
        with app.extensions["process_engine"].writer() as session, session.begin():
            self.token = api_tokens.issue_token(session, username, "tests")
        self.client = app.test_client()

    def post(self, path: str, body, key: str | None = None):
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers[HEADER] = key
        return self.client.post(f"/api/v1{path}", headers=headers, json=body)


def count(engine, model, *where) -> int:
    with engine.reader() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_repeated_post_answers_the_same_complaint(app, engine):
    ivy = Api(app, "ivy")
    body = {"data": support.record()}
    refused = ivy.post("/complaints", {"data": support.record(customer_name="")}, key="call-0001")
    assert refused.status_code == 422  # refused: nothing done, so nothing remembered under the key
    first = ivy.post("/complaints", body, key="call-0001")
    again = ivy.post("/complaints", body, key="call-0001")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and first.json["number"].startswith("TS-")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(engine, Instance) == 1


def test_the_same_key_with_another_body_is_422_naming_the_header(app, engine):
    ivy = Api(app, "ivy")
    ivy.post("/complaints", {"data": support.record()}, key="call-0002")
    other = ivy.post(
        "/complaints", {"data": support.record(description="Another problem entirely")}, key="call-0002"
    )
    assert other.status_code == 422
    assert HEADER in other.json["fields"] and HEADER in other.json["error"]
    assert count(engine, Instance) == 1


def test_keys_are_per_user(app, engine):
    mine = Api(app, "ivy").post("/complaints", {"data": support.record()}, key="shared")
    other_caller = {"data": support.record(customer_phone="13900139000")}
    theirs = Api(app, "iris").post("/complaints", other_caller, key="shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json["number"] != theirs.json["number"] and count(engine, Instance) == 2
    assert Api(app, "iris").post("/complaints", other_caller, key="shared").json == theirs.json


def test_a_key_is_honoured_for_24_hours_then_forgotten(app, engine, clock):
    ivy = Api(app, "ivy")
    body = {"data": support.record()}
    first = ivy.post("/complaints", body, key="call-0003").json
    clock.advance(timedelta(hours=23, minutes=59))
    assert ivy.post("/complaints", body, key="call-0003").json == first
    clock.advance(timedelta(minutes=1))
    next_call = {"data": support.record(customer_phone="13900139000")}
    later = ivy.post("/complaints", next_call, key="call-0003")  # within 24 h: 422, the key reused
    assert later.status_code == 201 and later.json["number"] != first["number"]
    assert count(engine, Instance) == 2


@pytest.mark.parametrize("key", ["", "x" * 201, "schlüssel"])
def test_a_malformed_key_is_400_naming_the_header(app, engine, key):
    response = Api(app, "ivy").post("/complaints", {"data": support.record()}, key=key)
    assert response.status_code == 400 and HEADER in response.json["fields"]
    assert count(engine, Instance) == 0


@pytest.fixture
def crash_on_recording(db):
    """The database fails the complaint's row (as a crash would) for a customer named CRASH."""
    with db.begin() as connection:
        if db.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION crash_on_recording() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.customer_name = 'CRASH' THEN RAISE EXCEPTION 'simulated crash'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER crash_on_recording BEFORE INSERT ON complaints "
                    "FOR EACH ROW EXECUTE FUNCTION crash_on_recording()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER crash_on_recording BEFORE INSERT ON complaints "
                    "WHEN NEW.customer_name = 'CRASH' BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
                )
            )
    yield
    with db.begin() as connection:
        connection.execute(
            text(
                "DROP TRIGGER crash_on_recording"
                + (" ON complaints" if db.dialect.name == "postgresql" else "")
            )
        )
        if db.dialect.name == "postgresql":
            connection.execute(text("DROP FUNCTION crash_on_recording()"))


def test_a_failure_while_recording_leaves_no_started_complaint(app, engine, crash_on_recording):
    """Start and record are one transaction: nothing waits in the intake inbox unanswered."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    ivy = Api(app, "ivy")
    failed = ivy.post("/complaints", {"data": support.record(customer_name="CRASH")}, key="call-0005")
    assert failed.status_code == 500
    assert count(engine, Instance) == 0
    assert count(engine, HumanTask) == 0
    assert count(engine, AuditEvent, AuditEvent.command == "start") == 0
    retried = ivy.post("/complaints", {"data": support.record(customer_name="CRASH")}, key="call-0005")
    assert retried.status_code == 500 and "Idempotent-Replayed" not in retried.headers
    fine = ivy.post("/complaints", {"data": support.record()}, key="call-0006")
    assert fine.status_code == 201 and count(engine, Instance) == 1


# ---------------------------------------------------------------------- task completion


def _dispatch_task(app, engine) -> str:
    recorded = Api(app, "ivy").post("/complaints", {"data": support.record()}).json
    return support.open_task(engine, recorded["instance_id"], "task_review_dispatch").id


def test_a_repeated_completion_answers_as_the_first(app, engine):
    task_id = _dispatch_task(app, engine)
    dora = Api(app, "dora")
    body = {"data": support.dispatch()}
    first = dora.post(f"/tasks/{task_id}/complete", body, key="done-1")
    again = dora.post(f"/tasks/{task_id}/complete", body, key="done-1")
    assert first.status_code == again.status_code == 200 and again.json == first.json
    assert first.json["opened_task_ids"]
    assert count(engine, AuditEvent, AuditEvent.command == "complete") == 2  # intake, dispatch: once
    unkeyed = dora.post(f"/tasks/{task_id}/complete", body)
    assert unkeyed.status_code == 409 and "already completed" in unkeyed.json["error"]


def test_a_completion_key_reused_with_other_data_is_422(app, engine):
    task_id = _dispatch_task(app, engine)
    dora = Api(app, "dora")
    dora.post(f"/tasks/{task_id}/complete", {"data": support.dispatch()}, key="done-2")
    other = dora.post(
        f"/tasks/{task_id}/complete", {"data": support.dispatch(department="billing")}, key="done-2"
    )
    assert other.status_code == 422 and HEADER in other.json["fields"]


def test_the_remembered_answer_is_the_stored_first_answer(app, engine, clock):
    """The replay is what was answered then, not a fresh look at a complaint that moved on."""
    ivy = Api(app, "ivy")
    body = {"data": support.record()}
    first = ivy.post("/complaints", body, key="call-0007").json
    support.complete(engine, first["instance_id"], "task_review_dispatch", support.dispatch())
    replay = ivy.post("/complaints", body, key="call-0007").json
    assert replay == first and replay["stage"] == "dispatch"
    with engine.reader() as session:
        stored = session.execute(text("SELECT answer_json FROM idempotency_keys")).scalar_one()
    assert json.loads(stored) == first
