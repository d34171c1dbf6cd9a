"""Moving running instances between versions: dry run, apply (timers keep their instant), revert."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import migration_apply
from engine.bundle import load_bundle
from engine.errors import NotFound
from engine.models import AuditEvent, InstanceMigration
from engine.spiff import waiting_timers
from engine.spiff_state import load_state
from tests.engine.support import VALID, engine_test_handlers, valid_bundle

CLASSIFY = "needs_approval = amount &gt; 100"


def bundle_with(tmp_path, *edits: tuple[str, str, str], name: str = "v2"):
    """A copy of the valid bundle with several (file, old, new) text replacements."""
    target = tmp_path / name
    shutil.copytree(VALID, target)
    for file_name, old, new in edits:
        path = target / file_name
        text = path.read_text()
        assert old in text, f"{old!r} not in {file_name}"
        path.write_text(text.replace(old, new))
    return load_bundle(target)


def compatible_v2(tmp_path):
    """Changes only what instances waiting at approval have not reached (or have open)."""
    return bundle_with(
        tmp_path,
        ("main.bpmn", 'name="Decide the overdue request"', 'name="Decide the late request"'),
        ("main.bpmn", "10 if amount &gt; 1000 else 0", "5 if amount &gt; 100 else 0"),
        (
            "archive.bpmn",
            "<bpmn:script>archived = True</bpmn:script>",
            '<bpmn:script>archived = "v2"</bpmn:script>',
        ),
    )


def incompatible_v2(tmp_path):
    """Replaces the approval task (open at approval) by another; changes the classification script.

    A changed element already run does not block: only open (or done) tasks without an element do.
    """
    return bundle_with(
        tmp_path,
        ("main.bpmn", CLASSIFY, "needs_approval = amount &gt; 200"),
        ("main.bpmn", 'task_approve"', 'task_consent"'),
        ("main.bpmn", "task_approve<", "task_consent<"),
        ("main.bpmn", 'name="Approve the request"', 'name="Consent to the request"'),
        name="v2b",
    )


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def at_entry(engine) -> int:
    return engine.start(actor="alice", version=1, business_key="entry").instance_id


def at_approval(engine, key="approval") -> int:
    instance_id = engine.start(actor="alice", version=1, business_key=key).instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    return instance_id


def timer_values(engine, instance_id) -> list[str]:
    instance = engine.instance(instance_id)
    workflow = engine.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
    return [task.internal_data["event_value"] for task, _ in waiting_timers(workflow)]


def events(engine, command):
    with engine.reader() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.command == command)))


def test_dry_run_names_the_element_that_blocks_and_writes_nothing(engine, tmp_path):
    entry, approval = at_entry(engine), at_approval(engine)
    engine.deploy(incompatible_v2(tmp_path), actor="admin")
    before = engine.instance(approval).version
    report = migration_apply.dry_run(engine, 1, 2)
    by_id = {item.instance_id: item for item in report.instances}
    assert by_id[entry].outcome == "movable" and by_id[entry].movable
    blocked = by_id[approval]
    assert blocked.outcome == "blocked" and not blocked.movable
    [blocker] = blocked.blockers
    assert (blocker.code, blocker.process_id, blocker.element_id, blocker.state) == (
        "open_missing",
        "approval_process",
        "task_approve",
        "READY",
    )
    assert str(blocker) == "the task 'Approve the request' is open and does not exist in v2"
    assert any("(approval_process/task_approve)" in line for line in report.lines())
    assert engine.instance(approval).version == before and engine.instance(approval).deployment_id == 1
    assert events(engine, "migrate") == []


def test_apply_keeps_the_timer_due_instant_and_rewrites_the_open_task(engine, clock, tmp_path):
    instance_id = at_approval(engine)
    due = engine.instance(instance_id).next_timer_at
    [values_before] = [timer_values(engine, instance_id)]
    [approve] = engine.open_tasks(instance_id)
    assert approve.priority == 0
    engine.deploy(compatible_v2(tmp_path), actor="admin")
    clock.advance(timedelta(minutes=50))  # a recomputed timer would fall due at 11:50, not 11:00

    report = migration_apply.apply(engine, 1, 2, actor="admin")

    [item] = report.instances
    assert item.outcome == "migrated", item.lines()
    instance = engine.instance(instance_id)
    assert instance.deployment_id == engine.runtime(instance.deployment_id).deployment_id
    assert engine.runtime(instance.deployment_id).version == 2
    assert instance.next_timer_at == due
    assert timer_values(engine, instance_id) == values_before
    [reopened] = engine.open_tasks(instance_id)
    assert reopened.id == approve.id and reopened.priority == 5  # v2's priority expression
    assert reopened.due_at == due
    [event] = events(engine, "migrate")
    assert event.instance_id == instance_id and event.actor == "admin"
    assert json.loads(event.detail)["from_version"] == 1 and json.loads(event.detail)["to_version"] == 2

    # The timer fires at its old instant, onto v2's path.
    clock.set(due + timedelta(seconds=1))
    assert engine.fire_all_due() == 1
    [escalate] = engine.open_tasks(instance_id)
    assert escalate.name == "Decide the late request"
    engine.complete_task(escalate.id, actor="bob", data={"decision": "approve"})
    assert engine.instance(instance_id).status == "completed"
    assert engine.instance_data(instance_id)["archived"] == "v2"


def test_apply_leaves_blocked_instances_untouched(engine, tmp_path):
    entry, approval = at_entry(engine), at_approval(engine)
    state_before = engine.instance(approval).state
    engine.deploy(incompatible_v2(tmp_path), actor="admin")
    report = migration_apply.apply(engine, 1, 2, actor="admin")
    outcomes = {item.instance_id: item.outcome for item in report.instances}
    assert outcomes == {entry: "migrated", approval: "blocked"}
    blocked = engine.instance(approval)
    assert blocked.deployment_id == 1 and blocked.state == state_before
    assert [event.instance_id for event in events(engine, "migrate")] == [entry]
    # The moved instance runs v2's classification: 150 no longer needs approval.
    [task] = engine.open_tasks(entry)
    engine.complete_task(task.id, actor="alice", data={"amount": 150, "description": "desk"})
    assert engine.instance(entry).status == "completed"


def test_revert_restores_version_state_and_task_rows(engine, tmp_path):
    instance_id = at_approval(engine)
    before = engine.instance(instance_id)
    state, next_timer = before.state, before.next_timer_at
    [task_before] = engine.open_tasks(instance_id)
    engine.deploy(compatible_v2(tmp_path), actor="admin")
    migration_apply.apply(engine, 1, 2, actor="admin")
    report = migration_apply.revert(engine, 1, 2, actor="admin")
    assert [item.outcome for item in report.instances] == ["reverted"]
    after = engine.instance(instance_id)
    assert (after.deployment_id, after.state, after.next_timer_at) == (1, state, next_timer)
    [task_after] = engine.open_tasks(instance_id)
    assert (task_after.id, task_after.priority, task_after.created_at, task_after.due_at) == (
        task_before.id,
        task_before.priority,
        task_before.created_at,
        task_before.due_at,
    )
    assert len(events(engine, "migrate_revert")) == 1
    with engine.reader() as session:
        [record] = session.scalars(select(InstanceMigration))
        assert record.reverted_by == "admin"
    # Runs on on v1 afterwards.
    engine.complete_task(task_after.id, actor="bob", data={"approved": True})
    assert engine.instance_data(instance_id)["archived"] is True


def test_revert_refuses_an_instance_changed_after_the_migration(engine, tmp_path):
    instance_id = engine.start(actor="alice", version=1).instance_id
    engine.deploy(compatible_v2(tmp_path), actor="admin")
    migration_apply.apply(engine, 1, 2, actor="admin")
    [task] = engine.open_tasks(instance_id)
    engine.claim(task.id, actor="alice")
    report = migration_apply.revert(engine, 1, 2, actor="admin")
    [item] = report.instances
    assert item.outcome == "refused" and "changed after the migration" in item.reason
    assert engine.runtime(engine.instance(instance_id).deployment_id).version == 2
    assert events(engine, "migrate_revert") == []


def test_a_lost_race_is_skipped_not_overwritten(engine, tmp_path, monkeypatch):
    instance_id = at_approval(engine)
    engine.deploy(compatible_v2(tmp_path), actor="admin")
    real_plan = migration_apply.plan_move

    def plan_then_race(engine_, store, instance, *args, **kwargs):
        plan = real_plan(engine_, store, instance, *args, **kwargs)
        # Another command commits between our read of the row and our write.
        store.connection.exec_driver_sql(
            f"UPDATE instances SET version = version + 1 WHERE id = {instance.id}"
        )
        return plan

    monkeypatch.setattr(migration_apply, "plan_move", plan_then_race)
    report = migration_apply.apply(engine, 1, 2, actor="admin")
    [item] = report.instances
    assert item.outcome == "skipped" and "changed it meanwhile" in item.reason
    assert engine.instance(instance_id).deployment_id == 1
    assert events(engine, "migrate") == []


def test_unknown_or_equal_versions_are_refused(engine):
    with pytest.raises(NotFound, match="no version 7"):
        migration_apply.dry_run(engine, 1, 7)
    with pytest.raises(NotFound, match="same version"):
        migration_apply.apply(engine, 1, 1, actor="admin")


def test_an_element_not_reached_yet_may_be_renamed_or_replaced(engine, clock, tmp_path):
    instance_id = at_approval(engine)
    due = engine.instance(instance_id).next_timer_at
    renamed = bundle_with(tmp_path, ("main.bpmn", "task_escalate", "task_decide"))
    engine.deploy(renamed, actor="admin")
    [item] = migration_apply.apply(engine, 1, 2, actor="admin").instances
    assert item.outcome == "migrated", item.lines()
    assert engine.instance(instance_id).next_timer_at == due
    clock.set(due + timedelta(seconds=1))
    engine.fire_all_due()
    assert [task.element_id for task in engine.open_tasks(instance_id)] == ["task_decide"]


def test_a_changed_waiting_timer_keeps_its_instant_and_says_so(engine, clock, tmp_path):
    instance_id = at_approval(engine)
    due = engine.instance(instance_id).next_timer_at
    engine.deploy(bundle_with(tmp_path, ("main.bpmn", '"PT2H"', '"PT4H"')), actor="admin")
    clock.advance(timedelta(minutes=10))
    [item] = migration_apply.apply(engine, 1, 2, actor="admin").instances
    assert item.outcome == "migrated"
    assert engine.instance(instance_id).next_timer_at == due
    [note] = item.notes
    assert "timer_approve_deadline" in note and "keeps its due instant" in note
    assert due.isoformat() in note


# --------------------------------------------------------------------------- call activities

WAIT_IN_ARCHIVE = (
    (
        "archive.bpmn",
        "<bpmn:incoming>flow_archive_script_end</bpmn:incoming>\n    </bpmn:endEvent>",
        "<bpmn:incoming>flow_archive_wait_end</bpmn:incoming>\n    </bpmn:endEvent>\n"
        '    <bpmn:intermediateCatchEvent id="archive_wait" name="Wait an hour">\n'
        "      <bpmn:incoming>flow_archive_script_end</bpmn:incoming>\n"
        "      <bpmn:outgoing>flow_archive_wait_end</bpmn:outgoing>\n"
        '      <bpmn:timerEventDefinition id="archive_wait_definition">\n'
        '        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>\n'
        "      </bpmn:timerEventDefinition>\n"
        "    </bpmn:intermediateCatchEvent>",
    ),
    (
        "archive.bpmn",
        'targetRef="archive_end" />',
        'targetRef="archive_wait" />\n    <bpmn:sequenceFlow id="flow_archive_wait_end" '
        'sourceRef="archive_wait" targetRef="archive_end" />',
    ),
    (
        "archive.bpmn",
        "</bpmndi:BPMNPlane>",
        '<bpmndi:BPMNShape id="archive_wait_di" bpmnElement="archive_wait">\n'
        '        <dc:Bounds x="392" y="182" width="36" height="36" />\n'
        "      </bpmndi:BPMNShape>\n"
        '      <bpmndi:BPMNEdge id="flow_archive_wait_end_di" bpmnElement="flow_archive_wait_end">\n'
        '        <di:waypoint x="410" y="182" />\n'
        '        <di:waypoint x="410" y="118" />\n'
        "      </bpmndi:BPMNEdge>\n"
        "    </bpmndi:BPMNPlane>",
    ),
)


@pytest.fixture
def waits_in_archive(make_engine, tmp_path):
    """v1: the called archive process waits an hour after archiving; one instance waits there."""
    engine = make_engine(engine_test_handlers())
    engine.deploy(bundle_with(tmp_path, *WAIT_IN_ARCHIVE, name="v1"), actor="admin")
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 50, "description": "pen"})
    assert engine.instance(instance_id).next_timer_at is not None  # waiting inside the call activity
    return engine, instance_id


def test_an_instance_waiting_in_a_call_activity_moves_and_keeps_its_timer(waits_in_archive, clock, tmp_path):
    engine, instance_id = waits_in_archive
    due = engine.instance(instance_id).next_timer_at
    renamed_end = (
        "archive.bpmn",
        '<bpmn:endEvent id="archive_end">',
        '<bpmn:endEvent id="archive_end" name="Done">',
    )
    engine.deploy(bundle_with(tmp_path, *WAIT_IN_ARCHIVE, renamed_end), actor="admin")
    clock.advance(timedelta(minutes=20))
    [item] = migration_apply.apply(engine, 1, 2, actor="admin").instances
    assert item.outcome == "migrated", item.lines()
    instance = engine.instance(instance_id)
    assert instance.next_timer_at == due
    runtime = engine.runtime(instance.deployment_id)
    workflow = load_state(
        instance.state, runtime.spec(instance.process_id), runtime.subprocess_specs(instance.process_id), None
    )
    [sub] = workflow.subprocesses.values()
    assert sub.spec is runtime.spec("archive_process")  # the subprocess moved too
    assert sub.spec.task_specs["archive_end"].bpmn_name == "Done"
    clock.set(due + timedelta(seconds=1))
    assert engine.fire_all_due() == 1
    assert engine.instance(instance_id).status == "completed"


def test_a_changed_element_already_run_in_a_call_activity_moves_and_keeps_its_data(
    waits_in_archive, tmp_path
):
    """Only open tasks without an element block; history that ran under v1's definition stays."""
    engine, instance_id = waits_in_archive
    changed_script = ("archive.bpmn", "archived = True", "archived = 2")
    engine.deploy(bundle_with(tmp_path, *WAIT_IN_ARCHIVE, changed_script), actor="admin")
    [item] = migration_apply.apply(engine, 1, 2, actor="admin").instances
    assert item.outcome == "migrated", item.lines()
    assert engine.instance_data(instance_id)["amount"] == 50


def test_a_reopened_task_whose_pre_script_fails_blocks_instead_of_moving(engine, tmp_path):
    instance_id = at_approval(engine)
    broken = ("main.bpmn", "approval_requested = True<", "approval_requested = no_such_name<")
    engine.deploy(bundle_with(tmp_path, broken), actor="admin")
    [item] = migration_apply.apply(engine, 1, 2, actor="admin").instances
    assert item.outcome == "blocked" and [b.code for b in item.blockers] == ["failed"]
    assert "no_such_name" in item.reason
    assert engine.instance(instance_id).deployment_id == 1


BOX_DRAWING = (
    "".join(
        f'<bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}">'
        f'<dc:Bounds x="{x}" y="400" width="36" height="36" /></bpmndi:BPMNShape>\n'
        for element, x in (("box_enter_start", 100), ("box_enter_end", 300))
    )
    + (
        '<bpmndi:BPMNShape id="box_enter_di" bpmnElement="box_enter" isExpanded="true">'
        '<dc:Bounds x="80" y="380" width="300" height="100" /></bpmndi:BPMNShape>\n'
    )
    + "".join(
        f'<bpmndi:BPMNEdge id="{flow}_di" bpmnElement="{flow}"><di:waypoint x="{a}" y="418" />'
        f'<di:waypoint x="{b}" y="418" /></bpmndi:BPMNEdge>\n'
        for flow, a, b in (("flow_box_in", 136, 180), ("flow_box_out", 280, 300))
    )
)


def test_a_task_drawn_into_a_new_subprocess_blocks_and_says_subprocess_not_call(engine, tmp_path):
    """Issue 10: the timers' boxes (L4 around handling and E3, T7 around the escalation path)
    wrap tasks in embedded subprocesses; an instance waiting at such a task cannot enter the
    box halfway, and the admin is told the box by its id as a subprocess, not a call activity."""
    entry = at_entry(engine)
    boxed = bundle_with(
        tmp_path,
        (
            "main.bpmn",
            '    <bpmn:userTask id="task_enter" name="Enter the request">',
            '    <bpmn:subProcess id="box_enter" name="Entry">\n'
            "      <bpmn:incoming>flow_start_enter</bpmn:incoming>\n"
            "      <bpmn:outgoing>flow_enter_classify</bpmn:outgoing>\n"
            '      <bpmn:startEvent id="box_enter_start" />\n'
            '      <bpmn:sequenceFlow id="flow_box_in" sourceRef="box_enter_start"'
            ' targetRef="task_enter" />\n'
            '      <bpmn:sequenceFlow id="flow_box_out" sourceRef="task_enter" targetRef="box_enter_end" />\n'
            '      <bpmn:endEvent id="box_enter_end" />\n'
            '    <bpmn:userTask id="task_enter" name="Enter the request">',
        ),
        (
            "main.bpmn",
            "      <bpmn:incoming>flow_start_enter</bpmn:incoming>\n"
            "      <bpmn:outgoing>flow_enter_classify</bpmn:outgoing>\n"
            "    </bpmn:userTask>",
            "    </bpmn:userTask>\n    </bpmn:subProcess>",
        ),
        (
            "main.bpmn",
            'sourceRef="start_event" targetRef="task_enter"',
            'sourceRef="start_event" targetRef="box_enter"',
        ),
        (
            "main.bpmn",
            'sourceRef="task_enter" targetRef="script_classify"',
            'sourceRef="box_enter" targetRef="script_classify"',
        ),
        ("main.bpmn", "</bpmndi:BPMNPlane>", BOX_DRAWING + "</bpmndi:BPMNPlane>"),
    )
    engine.deploy(boxed, actor="admin")
    [item] = migration_apply.dry_run(engine, 1, 2).instances
    assert item.instance_id == entry and item.outcome == "blocked"
    [blocker] = item.blockers
    assert (blocker.code, blocker.element_id, blocker.detail) == (
        "moved_into_subprocess",
        "task_enter",
        "box_enter",
    )
    assert (
        str(blocker) == "the task 'Enter the request' (task_enter) moved into the subprocess box_enter in v2"
    )
