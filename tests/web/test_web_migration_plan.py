"""``/admin/migration``: the plan built and checked on the page, reasons in words (en and zh),
the background run with its progress, the revert of a whole run."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from engine import migration_runs
from engine.bundle import load_bundle
from engine.db import make_session_factories
from engine.models import AuditEvent
from tests.engine.support import VALID, engine_test_handlers, valid_bundle
from tests.web.support import csrf_token, log_in
from web import accounts

PAGE = "/admin/migration?from=1&to=2"


@pytest.fixture
def engine(make_engine, tmp_path):
    """v1, and a v2 in which the approval task is gone (another task with another id and label)."""
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="alice")
    target = tmp_path / "v2"
    shutil.copytree(VALID, target)
    path = target / "main.bpmn"
    text = (
        path.read_text().replace('task_approve"', 'task_consent"').replace("task_approve<", "task_consent<")
    )
    path.write_text(text.replace('name="Approve the request"', 'name="Consent to the request"'))
    engine.deploy(load_bundle(target), actor="bob")
    return engine


@pytest.fixture
def admin(client, db):
    writer, _ = make_session_factories(db)
    with writer() as session, session.begin():
        accounts.create_user(session, "root", "secret-pw", "Root", (), ("admin",))
    log_in(client, "root", "secret-pw")
    return client


def at_approval(engine, key) -> int:
    instance_id = engine.start(actor="alice", version=1, business_key=key).instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    return instance_id


def finish_runs(client) -> None:
    for thread in client.application.extensions.get("migration_threads", {}).values():
        thread.join()


def test_the_reason_names_the_removed_task_in_english_and_chinese(admin, engine):
    at_approval(engine, "A-1")
    page = admin.get(PAGE).get_data(as_text=True)
    assert "1 blocked" in page
    assert "the task &#39;Approve the request&#39; is open and does not exist in v2" in page
    assert "object at 0x" not in page
    admin.get("/language/zh")
    page = admin.get(PAGE).get_data(as_text=True)
    assert "任务“Approve the request”尚未完成，而 v2 中没有它" in page
    assert "is open and does not exist" not in page


def test_a_plan_built_on_the_page_is_checked_then_moves_everything_in_the_background_and_reverts(
    admin, engine
):
    ids = [at_approval(engine, f"A-{n}") for n in range(3)]
    entry = engine.start(actor="alice", version=1, business_key="E").instance_id
    page = admin.get(PAGE).get_data(as_text=True)
    # The removed task is a row of the plan, its replacement a choice of the same kind.
    assert 'name="map.task_approve"' in page and '<option value="task_consent"' in page
    assert '<option value="timer_approve_deadline"' not in page, "same id: not a row"

    token = csrf_token(admin, PAGE)
    refused = admin.post(PAGE, data={"csrf_token": token, "action": "dry-run", "map.task_approve": "no_such"})
    assert refused.status_code == 200
    assert "no such element in the target version" in refused.get_data(as_text=True)

    checked = admin.post(
        PAGE, data={"csrf_token": token, "action": "dry-run", "map.task_approve": "task_consent"}
    )
    page = checked.get_data(as_text=True)
    assert "4 movable" in page and "blocked" not in page.split('id="summary"')[1].split("</p>")[0]
    assert '<input type="hidden" name="map.task_approve" value="task_consent">' in page

    started = admin.post(
        "/admin/migration/runs?from=1&to=2", data={"csrf_token": token, "map.task_approve": "task_consent"}
    )
    assert started.status_code == 302
    run_page = started.headers["Location"]
    finish_runs(admin)
    progress = admin.get(run_page + ".json").get_json()
    assert progress == {
        "status": "done",
        "total": 4,
        "done": 4,
        "moved": 4,
        "blocked": 0,
        "skipped": 0,
        "percent": 100,
    }
    assert 'value="100"' in admin.get(run_page).get_data(as_text=True)
    for instance_id in ids:
        [task] = engine.open_tasks(instance_id)
        assert task.element_id == "task_consent" and task.name == "Consent to the request"
    assert engine.runtime(engine.instance(entry).deployment_id).version == 2

    reverted = admin.post(run_page + "/revert", data={"csrf_token": token}).get_data(as_text=True)
    assert "4 reverted, 0 refused" in reverted
    for instance_id in [*ids, entry]:
        assert engine.instance(instance_id).deployment_id == 1
    assert [task.element_id for task in engine.open_tasks(ids[0])] == ["task_approve"]
    with engine.reader() as session:
        commands = session.scalars(select(AuditEvent.command).where(AuditEvent.actor == "root")).all()
    assert commands.count("migrate") == 4 and commands.count("migrate_revert") == 4


def test_a_run_that_stopped_is_resumed_from_the_page(admin, engine):
    ids = [at_approval(engine, f"A-{n}") for n in range(3)]
    run_id = migration_runs.start_run(engine, 1, 2, actor="root", mapping={"task_approve": "task_consent"})
    migration_runs.run(engine, run_id, stop_after=1)  # the server died after one move
    page = admin.get(f"/admin/migration/runs/{run_id}").get_data(as_text=True)
    assert "Resume" in page
    token = csrf_token(admin, f"/admin/migration/runs/{run_id}")
    admin.post(f"/admin/migration/runs/{run_id}/resume", data={"csrf_token": token})
    finish_runs(admin)
    progress = admin.get(f"/admin/migration/runs/{run_id}.json").get_json()
    assert (progress["moved"], progress["status"]) == (3, "done")
    assert all(engine.runtime(engine.instance(i).deployment_id).version == 2 for i in ids)


def test_the_command_line_takes_the_plan_and_resumes_a_run(run, engine):
    instance_id = at_approval(engine, "A-1")
    blocked = run("migrate-instances", "--from", "1", "--to", "2")
    assert "the task 'Approve the request' is open and does not exist in v2" in blocked.output
    wrong = run("migrate-instances", "--from", "1", "--to", "2", "--map", "task_approve=nothing")
    assert wrong.exit_code == 1 and "map.task_approve: unknown_target" in wrong.output
    planned = run("migrate-instances", "--from", "1", "--to", "2", "--map", "task_approve=task_consent")
    assert planned.output.splitlines()[-1] == "dry-run v1 -> v2: 1 movable"
    applied = run(
        "migrate-instances", "--from", "1", "--to", "2", "--apply", "--map", "task_approve=task_consent"
    )
    assert applied.exit_code == 0 and applied.output.splitlines()[-1] == "apply v1 -> v2: 1 migrated"
    assert engine.runtime(engine.instance(instance_id).deployment_id).version == 2
    again = run("migrate-instances", "--resume", "1")
    assert again.exit_code == 0 and again.output.splitlines()[-1] == "apply v1 -> v2: no running instances"


def test_a_path_moved_into_a_call_activity_is_said_in_english_and_chinese(app):
    """Issue 10: a complaint of the flat v1 cannot move onto the map; the admin reads why,
    naming the element and the call activity it moved into."""
    from engine.migration_plan import Blocker
    from web.migration_words import blocker_sentence

    blocker = Blocker(
        "moved_into_call",
        "task_handle_order",
        "部门工单处理 Handle the work order",
        "task",
        2,
        "complaint",
        "READY",
        "call_handling",
    )
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert blocker_sentence(blocker) == (
            "the task '部门工单处理 Handle the work order' (task_handle_order) moved into the call activity "
            "call_handling in v2"
        )
    with app.test_request_context(headers={"Accept-Language": "zh-CN,zh;q=0.9"}):
        assert blocker_sentence(blocker) == (
            "任务“部门工单处理 Handle the work order”（task_handle_order）"
            "在 v2 中移入了调用活动 call_handling"
        )


def test_a_task_moved_into_a_subprocess_is_said_as_a_subprocess_in_both_languages(app):
    """Issue 10: a running complaint at the department's task (task_handle_order) cannot enter
    the L4 box (sub_handling_order) halfway; the admin reads "subprocess", not "call activity"."""
    from engine.migration_plan import Blocker
    from web.migration_words import blocker_sentence

    blocker = Blocker(
        "moved_into_subprocess",
        "task_handle_order",
        "部门工单处理 Handle the work order",
        "task",
        3,
        "handling",
        "READY",
        "sub_handling_order",
    )
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert blocker_sentence(blocker) == (
            "the task '部门工单处理 Handle the work order' (task_handle_order) moved into the subprocess "
            "sub_handling_order in v3"
        )
    with app.test_request_context(headers={"Accept-Language": "zh-CN,zh;q=0.9"}):
        assert blocker_sentence(blocker) == (
            "任务“部门工单处理 Handle the work order”（task_handle_order）"
            "在 v3 中移入了子流程 sub_handling_order"
        )
