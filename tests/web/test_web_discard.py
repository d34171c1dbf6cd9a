"""Issue 13: a complaint started by mistake is discarded by its starter while its record is untouched.

Numbers (C4): numbering follows the record task, so a discarded complaint never held one;
the audit event says so, and the next complaint gets the day's next number (no gap).
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from engine.models import AuditEvent, HumanTask, Instance
from tasks import discard
from tests.procedure import support
from tests.procedure.support import complete, open_task
from tests.web.support import client_of, csrf_token
from web import task_extras


@pytest.fixture
def engine(procedure_app):
    return procedure_app.extensions["process_engine"]


def started_by_ivy(procedure_app) -> tuple[object, int]:
    ivy = client_of(procedure_app, "ivy")
    response = ivy.post("/complaints/new", data={"csrf_token": csrf_token(ivy, "/inbox")})
    assert response.status_code == 302
    task_id = response.headers["Location"].rsplit("/", 1)[-1]
    return ivy, procedure_app.extensions["process_engine"].task(task_id).instance_id


def discard_as(client, instance_id: int, reason: str = "点错了 Clicked twice"):
    page = f"/instances/{instance_id}"
    return client.post(f"{page}/discard", data={"reason": reason, "csrf_token": csrf_token(client, page)})


def test_the_starter_discards_an_untouched_complaint_audited_and_no_number_lost(procedure_app, engine):
    ivy, instance_id = started_by_ivy(procedure_app)
    assert "作废此投诉" in ivy.get(f"/instances/{instance_id}", headers={"Accept-Language": "zh"}).get_data(
        as_text=True
    )
    response = discard_as(ivy, instance_id)
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    with engine.reader() as session:
        assert session.get(Instance, instance_id).status == "cancelled"
        statuses = session.scalars(select(HumanTask.status).where(HumanTask.instance_id == instance_id)).all()
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.command == "cancel")
        ).all()
    assert statuses == ["cancelled"], "the record task leaves every inbox"
    detail = json.loads(event.detail)
    assert event.actor == "ivy" and detail["reason"] == "点错了 Clicked twice"
    assert (
        detail["number"] is None
        and "numbering (svc_register_complaint) follows the record task" in (detail["number_note"])
    )
    # The next complaint takes the day's first number: the discard left no gap.
    _, next_id = started_by_ivy(procedure_app)
    complete(engine, next_id, "task_record_complaint", support.record(), actor="ivy")
    assert support.complaint_row(engine, next_id).number.endswith("-0001")
    text = ivy.get(f"/instances/{instance_id}", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "已作废" in text and "误建投诉已作废" in text


def test_someone_else_may_not_discard_it(procedure_app, engine):
    _, instance_id = started_by_ivy(procedure_app)
    sue = client_of(procedure_app, "sue")
    assert "作废此投诉" not in sue.get(f"/instances/{instance_id}").get_data(as_text=True)
    discard_as(sue, instance_id)
    assert engine.instance(instance_id).status == "running"


def test_a_saved_draft_or_a_completed_record_keeps_it(procedure_app, engine, clock):
    ivy, drafted = started_by_ivy(procedure_app)
    task = open_task(engine, drafted, "task_record_complaint")
    with engine.writer() as session, session.begin():
        task_extras.save_draft(session, task.id, "ivy", {"customer_name": ["王"]}, clock.now())
    refused = discard_as(ivy, drafted)
    assert refused.status_code == 302 and engine.instance(drafted).status == "running"
    assert re.search("no longer be discarded", ivy.get(f"/instances/{drafted}").get_data(as_text=True))

    _, recorded = started_by_ivy(procedure_app)
    complete(engine, recorded, "task_record_complaint", support.record(), actor="ivy")
    discard_as(ivy, recorded)
    assert engine.instance(recorded).status == "running"
    assert discard.refusal(engine, recorded, "ivy") == "the complaint is numbered already"


def test_a_website_complaint_is_not_discarded_this_way(procedure_app, engine):
    instance_id = engine.start(
        actor="website", data={"channel": "internet", "customer_name": "孙"}
    ).instance_id
    assert discard.refusal(engine, instance_id, "ivy") == "only the person who started it may discard it"
