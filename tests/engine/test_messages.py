"""Messages: a message the process may receive any number of times, and one it does not expect."""

from __future__ import annotations

import pytest

from engine.bundle import load_bundle
from engine.errors import Conflict
from engine.handlers import HandlerRegistry
from tests.engine.support import BUNDLES


@pytest.fixture
def engine(make_engine):
    engine = make_engine(HandlerRegistry())
    engine.deploy(load_bundle(BUNDLES / "messages"), actor="admin")
    return engine


def test_each_message_opens_its_own_task_however_often_it_comes(engine):
    instance_id = engine.start(actor="alice").instance_id
    for note in ("first call", "second call", "third call"):
        engine.send_message(instance_id, "reminder", actor="phone", payload={"note": note})
    tasks = engine.open_tasks(instance_id)
    assert sorted(task.element_id for task in tasks) == ["task_handle"] + ["task_remind"] * 3
    assert {task.candidate_group for task in tasks} == {"handlers"}


def test_an_unexpected_message_is_refused_and_changes_nothing(engine):
    instance_id = engine.start(actor="alice").instance_id
    version = engine.instance(instance_id).version
    with pytest.raises(Conflict, match="not waiting for message 'cancel'"):
        engine.send_message(instance_id, "cancel", actor="phone")
    assert engine.instance(instance_id).version == version


def test_a_message_to_an_ended_instance_is_refused(engine):
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="bob", data={"done": True})
    with pytest.raises(Conflict, match="is completed"):
        engine.send_message(instance_id, "reminder", actor="phone")
