"""Claim answers that do not depend on timing: 200 for the holder, 409 naming the winner.

A client retrying a claim whose answer it lost must not see a conflict on its own
claim; whoever loses a race learns who won, whether their request arrived during
the winner's command or after it.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.models import AuditEvent
from tests.procedure import support
from tests.web.support import api_caller, client_of, csrf_token
from web import accounts

DISPATCHERS = ("dora", "dan", "dina", "dirk", "dolly", "don")


@pytest.fixture
def app(procedure_app):
    engine = procedure_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        for name in DISPATCHERS[1:]:
            accounts.create_user(session, name, "password-1", name.title(), ["cs_center"], ["agent"])
    return procedure_app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


@pytest.fixture
def task_id(app, engine) -> str:
    recorded = api_caller(app, "ivy").post("/complaints", json={"data": support.record()}).json
    return support.open_task(engine, recorded["instance_id"], "task_review_dispatch").id


def claim_events(engine) -> int:
    with engine.reader() as session:
        return session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.command == "claim")
        )


def test_the_holder_claiming_again_gets_200_and_nothing_changes(app, engine, task_id):
    dora = api_caller(app, "dora")
    first = dora.post(f"/tasks/{task_id}/claim")
    again = dora.post(f"/tasks/{task_id}/claim")
    assert first.status_code == again.status_code == 200
    assert again.json == first.json and again.json["assignee"] == "dora"
    assert claim_events(engine) == 1


def test_a_claim_after_the_winners_is_409_naming_the_winner(app, engine, task_id):
    assert api_caller(app, "dora").post(f"/tasks/{task_id}/claim").status_code == 200
    late = api_caller(app, "dan").post(f"/tasks/{task_id}/claim")
    assert late.status_code == 409 and "dora" in late.json["error"]
    assert engine.task(task_id).assignee == "dora"


def test_another_groups_member_is_still_refused_403(app, task_id):
    refused = api_caller(app, "ned").post(f"/tasks/{task_id}/claim")
    assert refused.status_code == 403 and "cs_center" in refused.json["error"]


def test_claims_at_once_give_one_winner_and_409s_naming_it(app, engine, task_id):
    callers = [api_caller(app, name) for name in DISPATCHERS]
    for caller in callers:  # each token's first use is recorded now, not inside the race
        caller.get("/tasks")
    together = threading.Barrier(len(callers), timeout=30)
    answers: dict[str, object] = {}

    def claim(name, caller):
        together.wait()
        answers[name] = caller.post(f"/tasks/{task_id}/claim")

    threads = [threading.Thread(target=claim, args=pair) for pair in zip(DISPATCHERS, callers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(response.status_code for response in answers.values())
    assert statuses == [200] + [409] * (len(DISPATCHERS) - 1)
    winner = engine.task(task_id).assignee
    assert answers[winner].status_code == 200
    for name, response in answers.items():
        if name != winner:
            assert winner in response.json["error"], (name, response.json)
    assert claim_events(engine) == 1


def test_claiming_again_on_the_page_is_no_error(app, engine, task_id):
    dora = client_of(app, "dora")
    for _ in range(2):
        page = dora.post(
            f"/tasks/{task_id}/claim", data={"csrf_token": csrf_token(dora, "/inbox")}, follow_redirects=True
        )
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "already claimed" not in text and ": claimed." in text
    assert claim_events(engine) == 1
