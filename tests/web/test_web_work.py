"""The inbox and the task page on a real database: visibility, claiming, forms, field errors."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bundle import load_bundle
from tests.web.support import csrf_token, log_in
from web import accounts

BUNDLE = Path(__file__).with_name("bundles") / "forms"


@pytest.fixture
def app(make_app, clock):
    app = make_app(CLOCK=clock)
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(BUNDLE), actor="owner")
    with engine.writer() as session, session.begin():
        for name, groups in (("clara", ["clerks"]), ("carl", ["clerks"]), ("mona", ["managers"])):
            accounts.create_user(session, name, "password-1", name.title(), groups, ["agent"])
    return app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


def client_of(app, username):
    client = app.test_client()
    assert log_in(client, username, "password-1").status_code == 302
    return client


def started(engine) -> str:
    result = engine.start(actor="clara", business_key="TS-0001")
    [task_id] = result.opened_task_ids
    return task_id


def filled(**changes):
    form = {"summary": "No signal", "channel": "phone", "kinds": ["major"], "amount": "12.5"}
    form.update(changes)
    return form


def test_the_inbox_lists_the_groups_tasks_with_their_due_and_priority(app, engine):
    started(engine)
    page = client_of(app, "clara").get("/inbox").get_data(as_text=True)
    assert "Fill in the form" in page and "TS-0001" in page and "clerks" in page
    assert "Fill in the form" not in client_of(app, "mona").get("/inbox").get_data(as_text=True)


def test_another_groups_task_page_is_403_not_the_data(app, engine):
    task_id = started(engine)
    response = client_of(app, "mona").get(f"/tasks/{task_id}")
    assert response.status_code == 403
    assert "Summary" not in response.get_data(as_text=True)


def test_claimed_tasks_are_the_assignees_only(app, engine):
    task_id = started(engine)
    clara, carl = client_of(app, "clara"), client_of(app, "carl")
    clara.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf_token(clara, "/inbox")})
    assert engine.task(task_id).assignee == "clara"
    assert carl.get(f"/tasks/{task_id}").status_code == 403
    assert "Fill in the form" not in carl.get("/inbox").get_data(as_text=True)
    token = csrf_token(carl, "/inbox")
    assert carl.post(f"/tasks/{task_id}", data={**filled(), "csrf_token": token}).status_code == 403
    assert engine.task(task_id).status == "open"


def test_a_post_without_csrf_token_is_refused(app, engine):
    task_id = started(engine)
    response = client_of(app, "clara").post(f"/tasks/{task_id}", data=filled())
    assert response.status_code == 400
    assert engine.task(task_id).status == "open"


def test_the_form_is_rendered_from_its_schema(app, engine):
    task_id = started(engine)
    page = client_of(app, "clara").get(f"/tasks/{task_id}").get_data(as_text=True)
    assert re.search(r'<input id="f-summary" name="summary"[^>]*type="text"', page, re.S)
    assert '<textarea id="f-details"' in page
    assert re.search(r'<input id="f-amount"[^>]*type="number"', page, re.S)
    assert '<option value="visit" >来访 Visit</option>' in page
    assert 'name="kinds" value="repeat"' in page
    assert 'type="checkbox" id="f-urgent"' in page
    assert re.search(r'<input id="f-call_at"[^>]*type="datetime-local"', page, re.S)


def test_field_errors_show_at_their_fields_and_keep_what_was_typed(app, engine):
    task_id = started(engine)
    clara = client_of(app, "clara")
    token = csrf_token(clara, f"/tasks/{task_id}")
    response = clara.post(
        f"/tasks/{task_id}",
        data={**filled(summary="ab", details="kept text"), "kinds": [], "csrf_token": token},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="error-summary"' in page and 'id="error-kinds"' in page
    assert "kept text" in page and 'value="ab"' in page
    assert engine.task(task_id).status == "open"


def test_completing_the_form_moves_the_work_to_the_next_group(app, engine, clock):
    task_id = started(engine)
    clara = client_of(app, "clara")
    token = csrf_token(clara, f"/tasks/{task_id}")
    response = clara.post(
        f"/tasks/{task_id}",
        data={**filled(urgent="on", call_at="2026-11-28T10:30"), "csrf_token": token},
    )
    assert response.status_code == 302
    done = engine.task(task_id)
    assert (done.status, done.completed_by) == ("completed", "clara")
    data = engine.instance_data(done.instance_id)
    assert data["amount"] == 12.5 and data["urgent"] is True and data["kinds"] == ["major"]
    assert data["call_at"] == "2026-11-28T10:30:00+08:00"  # read in the pages' zone
    assert "Check the form" in client_of(app, "mona").get("/inbox").get_data(as_text=True)


def test_overdue_and_about_to_breach_rows_are_highlighted():
    from datetime import UTC, datetime

    from web.work import time_left, urgency

    opened = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    due = opened + timedelta(hours=2)
    assert urgency(opened, due, opened + timedelta(minutes=60)) == ""
    assert urgency(opened, due, opened + timedelta(minutes=90)) == "soon"
    assert urgency(opened, due, due) == "overdue"
    assert time_left(due, opened + timedelta(minutes=45)) == "1 h 15 min left"
    assert time_left(due, due + timedelta(days=1, hours=3)) == "overdue by 1 d 3 h"


def test_inbox_filters_by_group_overdue_and_number(app, engine, clock):
    started(engine)
    clara = client_of(app, "clara")
    assert "TS-0001" in clara.get("/inbox?q=TS-000").get_data(as_text=True)
    assert "TS-0001" not in clara.get("/inbox?q=0001").get_data(as_text=True)  # the start of the number
    assert "TS-0001" not in clara.get("/inbox?overdue=1").get_data(as_text=True)
    assert clara.get("/inbox?group=managers").status_code == 403


def test_a_draft_keeps_what_was_typed_until_completion(app, engine):
    task_id = started(engine)
    clara = client_of(app, "clara")
    token = csrf_token(clara, f"/tasks/{task_id}")
    saved = clara.post(
        f"/tasks/{task_id}",
        data={
            "summary": "half written",
            "kinds": ["major", "repeat"],
            "action": "draft",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 302 and engine.task(task_id).status == "open"
    page = clara.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'value="half written"' in page and "draft of" in page
    assert 'value="repeat" checked' in page
    assert "half written" not in client_of(app, "carl").get(f"/tasks/{task_id}").get_data(as_text=True)
    clara.post(f"/tasks/{task_id}", data={**filled(), "csrf_token": token})
    from web.task_extras import load_draft

    with engine.reader() as session:
        assert load_draft(session, task_id, "clara") is None


def test_the_draft_goes_with_the_completion_in_one_transaction(app, engine):
    """Issue 15: the draft is deleted by the completing command itself: a completion the engine
    refuses (the form's schema: amount minimum 0) keeps it; the one that commits removes it."""
    from web.task_extras import load_draft

    task_id = started(engine)
    clara = client_of(app, "clara")
    token = csrf_token(clara, f"/tasks/{task_id}")
    clara.post(f"/tasks/{task_id}", data={"summary": "half written", "action": "draft", "csrf_token": token})
    refused = clara.post(f"/tasks/{task_id}", data={**filled(amount="-1"), "csrf_token": token})
    assert refused.status_code == 422 and engine.task(task_id).status == "open"
    with engine.reader() as session:
        assert load_draft(session, task_id, "clara") is not None
    done = clara.post(f"/tasks/{task_id}", data={**filled(), "csrf_token": token})
    assert done.status_code == 302 and engine.task(task_id).status == "completed"
    with engine.reader() as session:
        assert load_draft(session, task_id, "clara") is None


def test_evidence_is_kept_with_its_sha256_and_only_for_people_on_the_case(app, engine):
    import hashlib
    import io

    task_id = started(engine)
    clara = client_of(app, "clara")
    token = csrf_token(clara, f"/tasks/{task_id}")
    content = b"signed agreement of the customer"
    clara.post(
        f"/tasks/{task_id}/evidence",
        data={"evidence": (io.BytesIO(content), "agreement.txt"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    page = clara.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert hashlib.sha256(content).hexdigest() in page
    link = re.search(r'href="(/evidence/\d+)"', page).group(1)
    assert clara.get(link).data == content
    assert client_of(app, "mona").get(link).status_code == 403


def test_a_supervisor_assigns_within_the_group_only(app, engine):
    task_id = started(engine)
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "sue", "password-1", "Sue", [], ["supervisor"])
    sue = client_of(app, "sue")
    token = csrf_token(sue, f"/tasks/{task_id}")
    page = sue.get(f"/tasks/{task_id}").get_data(as_text=True)
    # Issue 13: the list names people as colleagues know them; the username is only the value.
    assert '<option value="carl" >Carl</option>' in page and ">carl<" not in page
    sue.post(f"/tasks/{task_id}/assign", data={"assignee": "mona", "csrf_token": token})
    assert engine.task(task_id).assignee is None  # mona is not a clerk
    sue.post(f"/tasks/{task_id}/assign", data={"assignee": "carl", "csrf_token": token})
    assert engine.task(task_id).assignee == "carl"
    clara = client_of(app, "clara")
    token = csrf_token(clara, "/inbox")
    assert (
        clara.post(f"/tasks/{task_id}/assign", data={"assignee": "clara", "csrf_token": token}).status_code
        == 403
    )
    # Issue 13: the inbox's "Claimed by" names the holder as colleagues know them, too.
    inbox = client_of(app, "carl").get("/inbox").get_data(as_text=True)
    assert 'data-label="Claimed by">Carl</td>' in inbox and ">carl<" not in inbox


def test_after_three_failures_for_a_name_the_next_attempt_must_wait(app, clock):
    client = app.test_client()
    for _ in range(3):
        assert log_in(client, "clara", "wrong").status_code == 401
    assert log_in(client, "clara", "password-1").status_code == 429  # inside the 1 s wait
    assert log_in(app.test_client(), "carl", "password-1").status_code == 302
    clock.advance(timedelta(seconds=1))
    assert log_in(client, "clara", "password-1").status_code == 302
