"""H6: the supervisor keeps assessing the impact of a complaint of serious harm or wide social
impact while it is open: every 24 hours after the dispatch and after each assessment, until the
complaint closes (terminate end) or the impact is judged contained. In simulated time from
Friday 2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput
from engine.models import HumanTask
from tests.procedure import support
from tests.procedure.support import SUPERVISOR, at, complaint_row, complete, open_elements, open_task

SERIOUS = {
    "serious_impact": True,
    "reported_upward_to": "分公司总经理 Branch GM",
    "coordinated_with": ["regulator"],
    "impact_assessment": "全区断网 District-wide outage",
}


def serious_complaint(engine, clock) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(**SERIOUS))
    return instance_id


def assessment_rows(engine, instance_id: int) -> list[HumanTask]:
    with engine.reader() as session:
        query = select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.element_id == "task_assess_impact"
        )
        return list(session.scalars(query.order_by(HumanTask.created_at)))


def test_h6_the_supervisor_assesses_a_serious_impact_every_24_hours_until_the_complaint_closes(engine, clock):
    instance_id = serious_complaint(engine, clock)
    clock.set(at(28, 9, 59))
    engine.fire_all_due()
    assert "task_assess_impact" not in open_elements(engine, instance_id), "not before 24 hours"
    clock.set(at(28, 10, 0, 1))
    engine.fire_all_due()
    first = open_task(engine, instance_id, "task_assess_impact")
    assert first.candidate_group == SUPERVISOR
    assert complaint_row(engine, instance_id).stage == "handling", "the watch is no stage of the complaint"

    with pytest.raises(InvalidInput) as refused:
        complete(
            engine,
            instance_id,
            "task_assess_impact",
            {"impact_trend": "growing", "impact_note": "扩散 Spreading"},
        )
    assert refused.value.field_errors["reported_again_to"].startswith("H6: ")
    clock.set(at(28, 11))
    complete(
        engine,
        instance_id,
        "task_assess_impact",
        {"impact_trend": "growing", "impact_note": "扩散 Spreading", "reported_again_to": "省公司 Province"},
    )
    clock.set(at(29, 10, 59))
    engine.fire_all_due()
    assert "task_assess_impact" not in open_elements(engine, instance_id), "24 h after the last assessment"
    clock.set(at(29, 11, 0, 1))
    engine.fire_all_due()
    open_task(engine, instance_id, "task_assess_impact")

    # the complaint goes on beside the watch and closes: the open assessment is withdrawn
    support.progress_told(engine, instance_id)
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    assert complaint_row(engine, instance_id).status == "closed"
    assert [row.status for row in assessment_rows(engine, instance_id)] == ["completed", "cancelled"]
    clock.set(at(30, 23))
    engine.fire_all_due()
    assert len(assessment_rows(engine, instance_id)) == 2, "no assessment after the complaint closed"


def test_h6_the_watch_ends_when_the_supervisor_judges_the_impact_contained(engine, clock):
    instance_id = serious_complaint(engine, clock)
    clock.set(at(28, 10, 0, 1))
    engine.fire_all_due()
    complete(
        engine,
        instance_id,
        "task_assess_impact",
        {"impact_trend": "contained", "impact_note": "已恢复 Restored"},
    )
    clock.set(at(30, 12))
    engine.fire_all_due()
    assert [row.status for row in assessment_rows(engine, instance_id)] == ["completed"]
    assert complaint_row(engine, instance_id).status == "open"


def test_h6_a_complaint_without_serious_impact_gets_no_assessments(engine, clock):
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    clock.set(at(30, 9))
    engine.fire_all_due()
    assert assessment_rows(engine, instance_id) == []
