"""T2/T3 at intake: the customer's open and recent complaints while the agent types the phone."""

from __future__ import annotations

import pytest

from tasks import records
from tests.procedure import support
from tests.web.support import client_of, csrf_token

PHONE = "13800138000"


@pytest.fixture
def app(procedure_app):
    return procedure_app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


def number_of(engine, instance_id: int) -> str:
    with engine.reader() as session:
        return records.complaint_of_instance(session, instance_id).number


def running_complaint(engine, **changes) -> str:
    instance_id = engine.start(actor="ivy").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record(**changes))
    return number_of(engine, instance_id)


def closed_complaint(engine, **changes) -> str:
    """A2: resolved at first contact, so closed at once."""
    instance_id = engine.start(actor="ivy").instance_id
    resolved = support.record(
        first_contact_resolved=True,
        first_contact_resolution="Explained the installation schedule",
        customer_accepted=True,
        **changes,
    )
    support.complete(engine, instance_id, "task_record_complaint", resolved)
    return number_of(engine, instance_id)


def test_lookup_lists_open_and_recent_complaints_of_the_phone(app, engine, clock):
    closed = closed_complaint(engine, description="Bill too high in October " + "x" * 200)
    running = running_complaint(engine, separate_matter=True, description="No signal since Monday")
    running_complaint(engine, customer_phone="13900139000")  # another customer
    found = client_of(app, "ivy").get("/intake/lookup?phone=138 0013 8000")
    assert found.status_code == 200
    body = found.json
    assert body["phone"] == PHONE
    assert [row["number"] for row in body["open"]] == [running]
    assert [row["number"] for row in body["recent"]] == [closed]
    open_row, closed_row = body["open"][0], body["recent"][0]
    assert open_row["status"] == "open" and open_row["stage"] == "dispatch"
    assert open_row["description"] == "No signal since Monday"
    assert open_row["accepted_at"] == "2026-11-27T01:00:00+00:00"
    assert open_row["accepted_at_text"] == "2026-11-27 09:00 +08:00"  # as the pages show it
    assert closed_row["status"] == "closed" and closed_row["outcome"] == "resolved_at_first_contact"
    assert closed_row["description"].startswith("Bill too high") and closed_row["description"].endswith("…")
    assert len(closed_row["description"]) <= 120


def test_lookup_of_a_short_or_unknown_number_is_empty(app, engine):
    running_complaint(engine)
    ivy = client_of(app, "ivy")
    assert ivy.get("/intake/lookup?phone=138").json == {"phone": "138", "open": [], "recent": []}
    assert ivy.get("/intake/lookup?phone=13700137000").json["open"] == []
    assert ivy.get("/intake/lookup").json["open"] == []


def test_lookup_is_for_the_intake_group_only(app, engine):
    running_complaint(engine)
    assert client_of(app, "dora").get(f"/intake/lookup?phone={PHONE}").status_code == 403
    anonymous = app.test_client().get(f"/intake/lookup?phone={PHONE}")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_the_script_is_loaded_on_the_intake_task_page_only(app, engine):
    [intake] = engine.start(actor="ivy").opened_task_ids
    page = client_of(app, "ivy").get(f"/tasks/{intake}").get_data(as_text=True)
    assert '<script src="/static/intake.js" defer' in page
    assert 'data-lookup-url="/intake/lookup"' in page
    assert "<script>" not in page  # no inline script: the CSP forbids it

    instance_id = engine.start(actor="ivy").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record(separate_matter=True))
    [review] = engine.open_tasks(instance_id)
    review_page = client_of(app, "dora").get(f"/tasks/{review.id}").get_data(as_text=True)
    assert "intake.js" not in review_page
    script = app.test_client().get("/static/intake.js")
    assert script.status_code == 200 and b"dataset" in script.data  # texts and URL come from the page
    script.close()


def test_the_buttons_texts_are_translated(app, engine):
    [intake] = engine.start(actor="ivy").opened_task_ids
    ivy = client_of(app, "ivy")
    ivy.get("/language/zh")
    page = ivy.get(f"/tasks/{intake}").get_data(as_text=True)
    assert "同一问题，仍在处理中（T2）" in page and "对原处理结果不满意（T3）" in page


def test_a_link_chosen_from_the_lookup_is_still_checked_by_the_validator(app, engine):
    """T3: linking a closed complaint without the reason is refused at completion."""
    closed = closed_complaint(engine)
    [intake] = engine.start(actor="ivy").opened_task_ids

    ivy = client_of(app, "ivy")
    token = csrf_token(ivy, f"/tasks/{intake}")
    record = support.record(repeat_of=closed, complaint_types=["repeat"])
    form = {**record, "csrf_token": token, "action": "complete"}
    form.pop("first_contact_resolved")
    refused = ivy.post(f"/tasks/{intake}", data=form)
    assert refused.status_code == 422 and 'id="error-repeat_reason"' in refused.get_data(as_text=True)


def test_lookup_loads_no_workflow(app, engine, monkeypatch):
    """Issue 15: the lookup runs per keystroke over up to 20 rows; lists never load workflows
    (docs/engine.md), so the excerpt comes from complaint_contacts, not the instance's data."""
    for day in range(3):
        running_complaint(engine, separate_matter=True, description=f"No signal, day {day}")
    closed_complaint(engine, separate_matter=True, description="Bill too high")
    from engine import deployments

    loaded = []
    real = deployments.load_state

    def counted(*args, **kwargs):
        loaded.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(deployments, "load_state", counted)
    body = client_of(app, "ivy").get(f"/intake/lookup?phone={PHONE}").json
    assert loaded == []
    assert sorted(row["description"] for row in body["open"]) == [f"No signal, day {day}" for day in range(3)]
    assert [row["description"] for row in body["recent"]] == ["Bill too high"]
    engine.instance_data(engine.start(actor="ivy").instance_id)
    assert len(loaded) == 1  # the spy sees a real deserialisation
