"""Domain rows stay in step with the process: projections and operations share the command's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.errors import EngineError
from tests.engine.support import engine_test_handlers, valid_bundle


@pytest.fixture
def seen():
    return []


@pytest.fixture
def engine(make_engine, seen):
    handlers = engine_test_handlers()

    @handlers.projection
    def remember(projection):
        seen.append((projection.command, projection.status, dict(projection.data)))

    engine = make_engine(handlers)
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def test_every_command_reaches_the_projection_with_the_current_data(engine, seen):
    instance_id = engine.start(actor="alice", data={"customer": "Li"}).instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 50, "description": "pens"})
    assert [(command, status) for command, status, _ in seen] == [
        ("start", "running"),
        ("complete", "completed"),
    ]
    assert seen[0][2]["customer"] == "Li"
    assert seen[1][2]["description"] == "pens" and seen[1][2]["route"] == "automatic"


def test_a_failing_projection_rolls_the_command_back(engine, seen):
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    version = engine.instance(instance_id).version

    @engine.handlers.projection
    def broken(projection):
        raise RuntimeError("the complaint table is locked")

    with pytest.raises(RuntimeError):
        engine.complete_task(task.id, actor="alice", data={"amount": 50, "description": "pens"})
    engine.handlers.projections.remove(broken)
    assert engine.instance(instance_id).version == version
    assert engine.task(task.id).status == "open"


def test_a_service_operation_works_inside_the_command_transaction(make_engine):
    handlers = engine_test_handlers()
    calls = []

    def echo_with_database(call):
        running = call.connection.execute(
            text("SELECT status FROM instances WHERE id = :id"), {"id": call.instance_id}
        ).scalar_one()
        calls.append((call.instance_id, running))
        return {"echoed": call.params["message"]}

    handlers.operations["echo"] = echo_with_database
    engine = make_engine(handlers)
    engine.deploy(valid_bundle(), actor="admin")
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 50, "description": "pens"})
    assert calls == [(instance_id, "running")]


def test_a_service_operation_error_names_the_element(make_engine):
    handlers = engine_test_handlers(echo_fails=True)
    engine = make_engine(handlers)
    engine.deploy(valid_bundle(), actor="admin")
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    with pytest.raises(EngineError, match="service_notify"):
        engine.complete_task(task.id, actor="alice", data={"amount": 50, "description": "pens"})
