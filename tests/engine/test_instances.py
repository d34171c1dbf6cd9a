"""Instances through the engine: start, complete, validation, rollback, versions, claims."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, InvalidInput, ProcessError
from engine.models import AuditEvent, HumanTask, Instance
from tests.engine.support import edited_bundle, engine_test_handlers, valid_bundle


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def open_task(engine, instance_id, element_id):
    [task] = [t for t in engine.open_tasks(instance_id) if t.element_id == element_id]
    return task


def audit_count(engine) -> int:
    with engine.reader() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent))


def test_start_opens_the_first_task_in_its_lane_group(engine, clock):
    result = engine.start(actor="alice", business_key="R-1")
    [task] = engine.open_tasks(result.instance_id)
    assert (task.element_id, task.candidate_group, task.status) == ("task_enter", "clerk", "open")
    assert task.created_at == clock.now()
    assert result.status == "running"


def test_small_request_runs_service_and_call_activity_to_the_end(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    result = engine.complete_task(task.id, actor="alice", data={"amount": 50, "description": "pens"})
    assert result.status == "completed"
    data = engine.instance_data(instance_id)
    assert data["notify_result"]["echoed"] == "request for 50"
    assert data["route"] == "automatic"
    done = engine.task(task.id)
    assert (done.status, done.completed_by) == ("completed", "alice")


def test_approval_task_is_due_two_hours_after_it_opens(engine, clock):
    instance_id = engine.start(actor="alice").instance_id
    engine.complete_task(
        open_task(engine, instance_id, "task_enter").id,
        actor="alice",
        data={"amount": 5000, "description": "laptop"},
    )
    approve = open_task(engine, instance_id, "task_approve")
    assert approve.candidate_group == "manager"
    assert approve.due_at == clock.now() + timedelta(hours=2)
    assert approve.priority == 10
    assert engine.instance(instance_id).next_timer_at == approve.due_at


def test_validator_error_keeps_the_task_open_and_saves_nothing(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    before = (engine.instance(instance_id).version, audit_count(engine))
    with pytest.raises(InvalidInput) as refused:
        engine.complete_task(task.id, actor="alice", data={"amount": 2_000_000, "description": "x"})
    assert "amount" in refused.value.field_errors
    assert (engine.instance(instance_id).version, audit_count(engine)) == before
    assert engine.task(task.id).status == "open"


def test_form_schema_names_the_missing_field(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    with pytest.raises(InvalidInput) as refused:
        engine.complete_task(task.id, actor="alice", data={"amount": 5})
    assert refused.value.field_errors == {"description": "this field is required"}


def test_reserved_field_names_are_refused(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    with pytest.raises(InvalidInput) as refused:
        engine.complete_task(task.id, actor="alice", data={"typename": "x"})
    assert "typename" in refused.value.field_errors


def test_handler_exception_rolls_everything_back(make_engine):
    engine = make_engine(engine_test_handlers(echo_fails=True))
    engine.deploy(valid_bundle(), actor="admin")
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    before = (engine.instance(instance_id).version, engine.instance(instance_id).state)
    events = audit_count(engine)
    with pytest.raises(ProcessError) as failed:
        engine.complete_task(task.id, actor="alice", data={"amount": 5, "description": "x"})
    assert failed.value.element_id == "service_notify"
    assert "notification service is down" in str(failed.value)
    instance = engine.instance(instance_id)
    assert (instance.version, instance.state) == before
    assert audit_count(engine) == events
    assert engine.task(task.id).status == "open"
    # The task can still be completed once the cause is gone (the workflow was not kept dirty).
    engine.handlers.operations["echo"] = engine_test_handlers().operations["echo"]
    assert (
        engine.complete_task(task.id, actor="alice", data={"amount": 5, "description": "x"}).status
        == "completed"
    )


def test_running_instance_keeps_its_version_after_a_new_deploy(engine, tmp_path, clock):
    old_id = engine.start(actor="alice").instance_id
    outcome = engine.deploy(edited_bundle(tmp_path, "main.bpmn", '"PT2H"', '"PT4H"'), actor="admin")
    assert (outcome.version, outcome.created) == (2, True)
    new_id = engine.start(actor="alice").instance_id
    for instance_id in (old_id, new_id):
        engine.complete_task(
            open_task(engine, instance_id, "task_enter").id,
            actor="alice",
            data={"amount": 500, "description": "chair"},
        )
    assert open_task(engine, old_id, "task_approve").due_at == clock.now() + timedelta(hours=2)
    assert open_task(engine, new_id, "task_approve").due_at == clock.now() + timedelta(hours=4)
    with engine.reader() as session:
        versions = dict(session.execute(select(Instance.id, Instance.deployment_id)).all())
    assert versions[old_id] != versions[new_id]


def test_identical_content_deploys_no_new_version(engine):
    again = engine.deploy(valid_bundle(), actor="someone else")
    assert (again.version, again.created) == (1, False)


def test_claim_then_only_the_assignee_may_complete(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    engine.claim(task.id, actor="bob", actor_groups=["clerk"])
    assert engine.task(task.id).assignee == "bob"
    with pytest.raises(Conflict, match="already claimed by bob"):
        engine.claim(task.id, actor="carol", actor_groups=["clerk"])
    with pytest.raises(Forbidden, match="claimed by bob"):
        engine.complete_task(
            task.id, actor="carol", actor_groups=["clerk"], data={"amount": 1, "description": "x"}
        )
    engine.unclaim(task.id, actor="bob")
    assert engine.task(task.id).assignee is None


def test_a_user_outside_the_candidate_group_is_forbidden(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    with pytest.raises(Forbidden, match="group 'clerk'"):
        engine.claim(task.id, actor="mallory", actor_groups=["manager"])
    assert engine.task(task.id).assignee is None


def test_completing_a_completed_task_is_a_conflict(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "x"})
    with pytest.raises(Conflict, match="already completed by alice"):
        engine.complete_task(task.id, actor="bob", data={"amount": 500, "description": "y"})


def test_every_command_is_audited_with_who_and_what(engine):
    instance_id = engine.start(actor="alice").instance_id
    task = open_task(engine, instance_id, "task_enter")
    engine.complete_task(task.id, actor="bob", data={"amount": 500, "description": "x"})
    with engine.reader() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.command, e.actor) for e in events] == [
        ("deploy", "admin"),
        ("start", "alice"),
        ("complete", "bob"),
    ]
    assert '"task_approve"' in events[-1].detail and '"amount": 500' in events[-1].detail


def test_human_task_rows_match_the_workflow(engine):
    instance_id = engine.start(actor="alice").instance_id
    with engine.reader() as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
    assert [(r.element_id, r.form) for r in rows] == [("task_enter", "enter.json")]


def test_a_process_names_its_instance_through_its_business_key_variable(make_engine, tmp_path):
    from tests.engine.support import edited_bundle

    engine = make_engine(engine_test_handlers())
    script = 'route = "manager" if needs_approval else "automatic"'
    engine.deploy(
        edited_bundle(tmp_path, "main.bpmn", script, script + '\nbusiness_key = "REQ-" + str(amount)'),
        actor="admin",
    )
    instance_id = engine.start(actor="alice").instance_id
    assert engine.instance(instance_id).business_key is None
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    assert engine.instance(instance_id).business_key == "REQ-500"


def test_a_business_key_given_at_start_is_kept(make_engine, tmp_path):
    from tests.engine.support import edited_bundle

    engine = make_engine(engine_test_handlers())
    script = 'route = "manager" if needs_approval else "automatic"'
    engine.deploy(
        edited_bundle(tmp_path, "main.bpmn", script, script + '\nbusiness_key = "OTHER"'), actor="a"
    )
    instance_id = engine.start(actor="alice", business_key="GIVEN").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    assert engine.instance(instance_id).business_key == "GIVEN"
