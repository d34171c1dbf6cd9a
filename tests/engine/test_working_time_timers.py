"""A timer in a diagram can say "2 working hours on calendar X from now" (lunch and nights excluded)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.engine.support import edited_bundle, engine_test_handlers

PARIS = ZoneInfo("Europe/Paris")
DURATION_TIMER = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT2H"</bpmn:timeDuration>'
WORKING_TIMER = (
    '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">working_due("office", "PT2H")</bpmn:timeDate>'
)


@pytest.fixture
def engine(make_engine, tmp_path):
    engine = make_engine(engine_test_handlers())
    engine.deploy(edited_bundle(tmp_path, "main.bpmn", DURATION_TIMER, WORKING_TIMER), actor="admin")
    return engine


def approval_due(engine, clock, opened_at: datetime) -> datetime:
    clock.set(opened_at)
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    [approve] = engine.open_tasks(instance_id)
    return approve.due_at


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        (datetime(2026, 11, 27, 9, 0, tzinfo=PARIS), datetime(2026, 11, 27, 11, 0, tzinfo=PARIS)),
        (datetime(2026, 11, 27, 11, 0, tzinfo=PARIS), datetime(2026, 11, 27, 15, 30, tzinfo=PARIS)),
        (datetime(2026, 11, 27, 12, 30, tzinfo=PARIS), datetime(2026, 11, 27, 16, 30, tzinfo=PARIS)),
        (datetime(2026, 11, 27, 17, 30, tzinfo=PARIS), datetime(2026, 11, 30, 9, 30, tzinfo=PARIS)),
        (datetime(2025, 12, 24, 17, 0, tzinfo=PARIS), datetime(2025, 12, 26, 9, 0, tzinfo=PARIS)),
    ],
    ids=["morning", "across-lunch", "in-lunch", "friday-evening-to-monday", "over-christmas"],
)
def test_working_time_timer_due_instant(engine, clock, opened, due):
    assert approval_due(engine, clock, opened) == due


def test_working_time_timer_fires_only_after_working_time_passed(engine, clock):
    opened = datetime(2026, 11, 27, 17, 30, tzinfo=PARIS)
    due = approval_due(engine, clock, opened)
    clock.set(opened + timedelta(hours=2, seconds=1))  # plain time would have fired here
    assert engine.fire_all_due() == 0
    clock.set(due + timedelta(seconds=1))
    assert engine.fire_all_due() == 1
