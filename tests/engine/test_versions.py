"""Version diffs (elements, forms, config) and the default version new instances start on."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import select

from engine import versions
from engine.bundle import load_bundle
from engine.errors import NotFound
from engine.models import AuditEvent
from tests.engine.support import VALID, engine_test_handlers, valid_bundle


def bundle_with(tmp_path, *edits: tuple[str, str, str], name: str = "edited", extra=None):
    target = tmp_path / name
    shutil.copytree(VALID, target)
    for file_name, old, new in edits:
        path = target / file_name
        text = path.read_text()
        assert old in text, f"{old!r} not in {file_name}"
        path.write_text(text.replace(old, new))
    for file_name, content in (extra or {}).items():
        (target / file_name).write_text(content)
    return load_bundle(target)


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def diff(engine, a=1, b=2):
    with engine.reader() as session:
        return versions.diff_deployed(session, a, b)


def changed(found, element_id):
    [change] = [change for change in found.elements if change.element_id == element_id]
    return change


def test_identical_content_gives_an_empty_diff(engine):
    with engine.reader() as session:
        found = versions.diff_deployed(session, 1, 1)
    assert found.empty and found.lines() == []


def test_element_changes_name_their_aspects(engine, tmp_path):
    engine.deploy(
        bundle_with(
            tmp_path,
            ("main.bpmn", '"PT2H"', '"PT4H"'),
            ("main.bpmn", "needs_approval = amount &gt; 100", "needs_approval = amount &gt; 200"),
            ("main.bpmn", 'name="Decide the overdue request"', 'name="Decide the late request"'),
            ("main.bpmn", "10 if amount &gt; 1000 else 0", "5 if amount &gt; 100 else 0"),
            ("main.bpmn", 'value="enter.json"', 'value="approve.json"'),
            (
                "main.bpmn",
                '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">needs_approval<',
                '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">needs_approval == True<',
            ),
            (
                "main.bpmn",
                'spiffworkflow:serviceTaskOperator id="echo" resultVariable="notify_result"',
                'spiffworkflow:serviceTaskOperator id="echo" resultVariable="notified"',
            ),
            ("archive.bpmn", "archived = True", "archived = 1"),
        ),
        actor="admin",
    )
    found = diff(engine)
    assert changed(found, "timer_approve_deadline").aspects == ("timer",)
    assert changed(found, "script_classify").aspects == ("scripts",)
    assert changed(found, "task_escalate").aspects == ("name",)
    assert changed(found, "task_approve").aspects == ("properties",)
    assert changed(found, "task_enter").aspects == ("form",)
    assert changed(found, "gateway_approval").aspects == ("conditions",)
    assert changed(found, "service_notify").aspects == ("operator",)
    archive = changed(found, "script_archive")
    assert (archive.process_id, archive.change) == ("archive_process", "changed")
    assert "changed ScriptTask approval_process/script_classify (scripts)" in found.lines()
    unchanged = {"start_event", "call_archive", "end_event", "task_approve_x"}
    assert not unchanged & {change.element_id for change in found.elements}


def test_added_and_removed_elements_lanes_and_documentation(engine, tmp_path):
    engine.deploy(
        bundle_with(
            tmp_path,
            ("main.bpmn", "task_escalate", "task_decide"),
            (
                "main.bpmn",
                '<bpmn:lane id="lane_manager" name="manager">',
                '<bpmn:lane id="lane_manager" name="boss">',
            ),
            (
                "main.bpmn",
                '<bpmn:scriptTask id="script_classify" name="Classify the request">',
                '<bpmn:scriptTask id="script_classify" name="Classify the request">'
                "<bpmn:documentation>Sorts requests.</bpmn:documentation>",
            ),
        ),
        actor="admin",
    )
    found = diff(engine)
    assert changed(found, "task_decide").change == "added"
    assert changed(found, "task_escalate").change == "removed"
    assert "lane" in changed(found, "task_approve").aspects
    assert changed(found, "script_classify").aspects == ("documentation",)


def test_forms_and_config_keys(engine, tmp_path):
    approve = json.loads((VALID / "forms" / "approve.json").read_text())
    approve["properties"]["comment"]["maxLength"] = 500
    config = (VALID / "procedure.toml").read_text()
    config = config.replace('timezone = "Europe/Paris"', 'timezone = "Europe/Berlin"')
    config = config.replace('days = ["mon", "tue", "wed", "thu", "fri"]\n', "")
    config += '\n[calendars.support]\ntimezone = "Asia/Shanghai"\nwindows = ["08:00-12:00"]\n'
    bundle = bundle_with(
        tmp_path,
        extra={
            "forms/approve.json": json.dumps(approve),
            "forms/extra.json": '{"type": "object"}',
            "procedure.toml": config,
        },
    )
    engine.deploy(bundle, actor="admin")
    found = diff(engine)
    assert [(change.key, change.change) for change in found.forms] == [
        ("approve.json", "changed"),
        ("extra.json", "added"),
    ]
    config_changes = {change.key: change for change in found.config}
    assert config_changes["calendars.office.timezone"].change == "changed"
    assert (
        config_changes["calendars.office.timezone"].old,
        config_changes["calendars.office.timezone"].new,
    ) == (
        "Europe/Paris",
        "Europe/Berlin",
    )
    assert config_changes["calendars.office.days"].change == "removed"
    assert config_changes["calendars.support.timezone"].change == "added"
    assert found.elements == []
    backwards = diff(engine, 2, 1)
    assert [(change.key, change.change) for change in backwards.forms] == [
        ("approve.json", "changed"),
        ("extra.json", "removed"),
    ]


def test_diff_of_an_unknown_version_is_not_found(engine):
    with pytest.raises(NotFound, match="no version 9"):
        diff(engine, 1, 9)


# --------------------------------------------------------------------------- default version


def started_version(engine) -> int:
    instance_id = engine.start(actor="alice").instance_id
    return engine.runtime(engine.instance(instance_id).deployment_id).version


def test_new_instances_start_on_the_newest_by_default(engine, tmp_path):
    engine.deploy(bundle_with(tmp_path, ("main.bpmn", '"PT2H"', '"PT4H"')), actor="admin")
    assert versions.default_version(engine) == 2
    assert started_version(engine) == 2


def test_rollback_to_an_older_version_is_used_and_audited(engine, tmp_path):
    engine.deploy(bundle_with(tmp_path, ("main.bpmn", '"PT2H"', '"PT4H"')), actor="admin")
    assert versions.choose_default(engine, 1, actor="root") == 2
    assert started_version(engine) == 1
    listed = versions.list_versions(engine)
    assert [(info.version, info.default) for info in listed] == [(2, False), (1, True)]
    with engine.reader() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.command == "default_version"))
    assert event.actor == "root" and json.loads(event.detail) == {"version": 1, "previous": 2}
    # Choosing the newest again, then a newer deploy: the newest wins.
    versions.choose_default(engine, 2, actor="root")
    assert started_version(engine) == 2


def test_a_newer_deploy_ends_a_rollback(engine, tmp_path):
    engine.deploy(bundle_with(tmp_path, ("main.bpmn", '"PT2H"', '"PT4H"'), name="v2"), actor="admin")
    versions.choose_default(engine, 1, actor="root")
    engine.deploy(bundle_with(tmp_path, ("main.bpmn", '"PT2H"', '"PT3H"'), name="v3"), actor="admin")
    assert versions.default_version(engine) == 3
    assert started_version(engine) == 3


def test_choosing_an_unknown_version_is_refused(engine):
    with pytest.raises(NotFound, match="no version 5"):
        versions.choose_default(engine, 5, actor="root")
    assert versions.default_version(engine) == 1
