"""Migration on what really runs: the real complaint procedure, complaints parked at every user
task and inside each event subprocess (their timers waiting), moved to a version that renames
one task and changes one figure, with and without a plan; then moved back.

In simulated time from Friday 2026-11-27 09:00 Shanghai (the ``clock`` fixture).
"""

from __future__ import annotations

import itertools
import shutil

import pytest
from sqlalchemy import func, select

from engine import migration_apply, migration_runs
from engine.bundle import load_bundle
from engine.errors import InvalidInput
from engine.models import AuditEvent, InstanceMigration
from engine.spiff import waiting_timers
from tasks.registry import REGISTRY
from tests.procedure import support
from tests.procedure.support import at, complaint_row, complete, iso, open_elements

RENAMED_FROM, RENAMED_TO = "task_assess_impact", "task_reassess_impact"
SERIOUS = {
    "serious_impact": True,
    "reported_upward_to": "分公司总经理 Branch GM",
    "coordinated_with": ["regulator"],
    "impact_assessment": "全区断网 District-wide outage",
}
EVERY_USER_TASK = {
    "task_record_complaint",
    "task_review_dispatch",
    "task_handle_order",
    "task_review_reply",
    "task_reply_customer",
    "task_return_visit",
    "task_approve_plan",
    "task_decide_extension",
    "task_dispatch_breach_alert",
    "task_handle_reminder",  # inside the reminder event subprocess
    "task_first_reply_alert",  # inside the first-reply event subprocess, after its timer
    "task_assess_impact",  # inside the impact watch, after its timer
}


@pytest.fixture
def engine(make_engine):
    engine = make_engine(REGISTRY)
    engine.deploy(support.bundle(), actor="owner")
    return engine


def v2_bundle(tmp_path):
    """Renames the impact assessment (id and label) and changes one figure (L4: 48 h -> 72 h)."""
    target = tmp_path / "v2"
    shutil.copytree(support.BUNDLE, target)
    diagram = target / "complaint.bpmn"
    text = diagram.read_text(encoding="utf-8").replace(RENAMED_FROM, RENAMED_TO)
    text = text.replace(
        'name="持续评估影响 Assess the impact again"', 'name="再次评估影响 Reassess the impact"'
    )
    diagram.write_text(text, encoding="utf-8")
    config = target / "procedure.toml"
    figures = config.read_text(encoding="utf-8")
    assert '[handling_deadlines]\nordinary = "PT48H"' in figures
    config.write_text(
        figures.replace(
            '[handling_deadlines]\nordinary = "PT48H"', '[handling_deadlines]\nordinary = "PT72H"'
        )
    )
    return load_bundle(target)


PHONES = itertools.count(13800000001)


def recorded(engine, **record) -> int:
    """A complaint past intake, from a customer of its own (no T2 repeat unless asked)."""
    record.setdefault("customer_phone", str(next(PHONES)))
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(**record))
    return instance_id


def dispatched(engine, **dispatch) -> int:
    instance_id = recorded(engine)
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(**dispatch))
    return instance_id


def park_everywhere(engine, clock) -> list[int]:
    """One complaint at each step; then a day passes and the timers open the alerts and the watch."""
    parked = [engine.start(actor="agent").instance_id, recorded(engine), dispatched(engine)]
    replied = dispatched(engine)
    complete(engine, replied, "task_handle_order", support.work_order_reply())
    reviewed = dispatched(engine)
    complete(engine, reviewed, "task_handle_order", support.work_order_reply())
    complete(engine, reviewed, "task_review_reply", support.review())
    answered = dispatched(engine)
    complete(engine, answered, "task_handle_order", support.work_order_reply())
    complete(engine, answered, "task_review_reply", support.review())
    complete(engine, answered, "task_reply_customer", support.customer_reply())
    major = recorded(engine, complaint_types=["major"])
    complete(engine, major, "task_review_dispatch", support.dispatch(**support.major_plan()))
    extended = dispatched(engine)
    complete(engine, extended, "task_handle_order", support.extension_request(until=iso(30, 18)))
    chased = dispatched(engine)
    chased_row = complaint_row(engine, chased)
    recorded(engine, repeat_of=chased_row.number, customer_phone=chased_row.customer_phone)  # T2: reminds it
    clock.set(at(27, 10))
    serious = dispatched(engine, **SERIOUS)
    parked += [replied, reviewed, answered, major, extended, chased, serious]
    clock.set(at(28, 10, 0, 1))
    engine.fire_all_due()
    return [instance_id for instance_id in parked if engine.instance(instance_id).status == "running"]


def timers(engine, instance_id) -> list[tuple[str, str]]:
    """Every waiting timer of an instance (event subprocesses included) with its stored due value."""
    instance = engine.instance(instance_id)
    workflow = engine.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
    return sorted(
        (task.task_spec.bpmn_id, str(task.internal_data["event_value"]))
        for task, _ in waiting_timers(workflow)
    )


def snapshot(engine, ids):
    return {
        instance_id: (
            engine.instance(instance_id).next_timer_at,
            timers(engine, instance_id),
            sorted(task.id for task in engine.open_tasks(instance_id)),
            engine.instance_data(instance_id),
        )
        for instance_id in ids
    }


def test_complaints_parked_at_every_user_task_move_with_a_plan_keep_their_timers_and_revert(
    engine, clock, tmp_path
):
    ids = park_everywhere(engine, clock)
    parked_at = {element for instance_id in ids for element in open_elements(engine, instance_id)}
    assert parked_at >= EVERY_USER_TASK
    at_renamed = {i for i in ids if RENAMED_FROM in open_elements(engine, i)}
    assert at_renamed and len(at_renamed) < len(ids)
    before = snapshot(engine, ids)
    states = {i: engine.instance(i).state for i in ids}
    engine.deploy(v2_bundle(tmp_path), actor="owner")
    clock.set(at(28, 12))  # a recomputed timer would fall due later than the kept one

    # Without a plan only those at the renamed task are blocked, and the reason names it.
    report = migration_apply.dry_run(engine, 1, 2)
    outcomes = {item.instance_id: item for item in report.instances}
    assert {i for i, item in outcomes.items() if item.outcome == "blocked"} == at_renamed
    for instance_id in at_renamed:
        [blocker] = outcomes[instance_id].blockers
        assert (blocker.code, blocker.element_id, blocker.version) == ("open_missing", RENAMED_FROM, 2)
        assert (
            str(blocker) == "the task '持续评估影响 Assess the impact again' is open and does not exist in v2"
        )

    # The plan is proposed by id; the renamed task has no proposal (its label changed too).
    rows = {row.source.element_id: row for row in migration_apply.plan_rows(engine, 1, 2)}
    assert rows["task_handle_order"].how == "id" and rows[RENAMED_FROM].target_id is None
    with pytest.raises(InvalidInput) as refused:
        migration_apply.dry_run(engine, 1, 2, mapping={RENAMED_FROM: "timer_handling_overdue"})
    assert refused.value.field_errors == {f"map.{RENAMED_FROM}": "kind_mismatch"}

    # With the mapping every complaint moves, in a run that crashes half way and resumes.
    plan = {RENAMED_FROM: RENAMED_TO}
    dry_run = migration_apply.dry_run(engine, 1, 2, mapping=plan)
    assert {item.outcome for item in dry_run.instances} == {"movable"}
    run_id = migration_runs.start_run(engine, 1, 2, actor="admin", mapping=plan)
    migration_runs.run(engine, run_id, stop_after=4)  # as if the process died after four moves
    assert migration_runs.progress(engine, run_id).done == 4
    migration_runs.run(engine, run_id)
    progress = migration_runs.progress(engine, run_id)
    assert (progress.status, progress.total, progress.moved, progress.blocked) == (
        "done",
        len(ids),
        len(ids),
        0,
    )
    with engine.reader() as session:
        moves = session.execute(
            select(InstanceMigration.instance_id, func.count()).group_by(InstanceMigration.instance_id)
        ).all()
    assert sorted(moves) == sorted((i, 1) for i in ids), "each complaint moved once"

    after = snapshot(engine, ids)
    for instance_id in ids:
        assert engine.runtime(engine.instance(instance_id).deployment_id).version == 2
        next_timer, waiting, tasks, data = before[instance_id]
        assert after[instance_id][0] == next_timer, "a deadline is never restarted"
        moved_timers = [(RENAMED_TO if e == RENAMED_FROM else e, v) for e, v in waiting]
        assert after[instance_id][1] == sorted(moved_timers)
        assert after[instance_id][2] == tasks and after[instance_id][3] == data
    for instance_id in at_renamed:
        assert RENAMED_TO in open_elements(engine, instance_id)
        # The moved task runs on v2: completing it is accepted under its new id.
        complete(
            engine,
            instance_id,
            RENAMED_TO,
            {"impact_trend": "contained", "impact_note": "已恢复 Restored"},
        )

    # Revert brings back every complaint that did not change since (the completed one refuses).
    reverted = migration_runs.revert_run(engine, run_id, actor="admin")
    outcomes = {item.instance_id: item.outcome for item in reverted.instances}
    assert {i for i, outcome in outcomes.items() if outcome == "refused"} == at_renamed
    for instance_id in set(ids) - at_renamed:
        instance = engine.instance(instance_id)
        assert (instance.deployment_id, instance.state) == (1, states[instance_id])
        assert snapshot(engine, [instance_id])[instance_id] == before[instance_id]
    with engine.reader() as session:
        commands = session.scalars(
            select(AuditEvent.command).where(AuditEvent.command.like("migrate%"))
        ).all()
    assert commands.count("migrate") == len(ids) and commands.count("migrate_revert") == len(ids) - len(
        at_renamed
    )
