"""Candidate group and assignee read from the data (``candidateGroup`` / ``assignee`` properties).

One task serves whichever group or person the data names, so a diagram need not copy a task
per department; without a value the lane's group applies and nobody is assigned.
"""

from __future__ import annotations

import pytest

from engine.errors import Forbidden
from tests.engine.support import edited_bundle, engine_test_handlers
from tests.engine.test_validation import MAIN, line_of, make_variant, only, problems_of

PRIORITY = '<spiffworkflow:property name="priority" value="10 if amount &gt; 1000 else 0" />'
ROUTED = (
    PRIORITY
    + "<spiffworkflow:property name=\"candidateGroup\" value=\"'finance' if amount &gt; 10000 else ''\" />"
    + '<spiffworkflow:property name="assignee" value="\'carol\' if amount &gt; 10000 else None" />'
)


@pytest.fixture
def engine(make_engine, tmp_path):
    engine = make_engine(engine_test_handlers())
    engine.deploy(edited_bundle(tmp_path, "main.bpmn", PRIORITY, ROUTED), actor="admin")
    return engine


def approval_of(engine, amount: int):
    instance_id = engine.start(actor="alice").instance_id
    [enter] = engine.open_tasks(instance_id)
    engine.complete_task(enter.id, actor="alice", data={"amount": amount, "description": "kit"})
    [approve] = [task for task in engine.open_tasks(instance_id) if task.element_id == "task_approve"]
    return approve


def test_the_data_names_the_group_and_the_person(engine):
    approve = approval_of(engine, 50_000)
    assert (approve.candidate_group, approve.assignee) == ("finance", "carol")
    with pytest.raises(Forbidden):
        engine.complete_task(approve.id, actor="dave", data={"approved": True}, actor_groups={"finance"})


def test_an_empty_value_falls_back_to_the_lane_group_and_nobody_is_assigned(engine):
    approve = approval_of(engine, 5_000)
    assert (approve.candidate_group, approve.assignee) == ("manager", None)


def test_group_and_assignee_expressions_are_compiled_at_deploy(tmp_path):
    broken = PRIORITY + '<spiffworkflow:property name="candidateGroup" value="\'dept:\' +" />'
    folder = make_variant(tmp_path, {MAIN: [(PRIORITY, broken)]})
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, 'name="candidateGroup"'),
        element_id="task_approve",
        message="the candidate group expression is not valid Python",
    )


def test_a_name_the_data_lacks_means_not_named_but_other_errors_surface(make_engine, tmp_path):
    """Start data only some entries give (``received_by``): without it, the lane's group."""
    missing = PRIORITY + '<spiffworkflow:property name="candidateGroup" value="received_by" />'
    engine = make_engine(engine_test_handlers())
    engine.deploy(edited_bundle(tmp_path / "a", "main.bpmn", PRIORITY, missing), actor="admin")
    assert approval_of(engine, 5_000).candidate_group == "manager"

    broken = PRIORITY + '<spiffworkflow:property name="candidateGroup" value="1 / 0" />'
    engine = make_engine(engine_test_handlers())
    engine.deploy(edited_bundle(tmp_path / "b", "main.bpmn", PRIORITY, broken), actor="admin")
    with pytest.raises(Exception, match="Error evaluating expression '1 / 0'"):
        approval_of(engine, 5_000)
