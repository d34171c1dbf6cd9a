"""``complaints versions [diff|use]``, ``complaints migrate-instances`` and their /admin pages."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from engine.bundle import load_bundle
from engine.db import make_session_factories
from engine.models import Deployment
from tests.engine.support import VALID, engine_test_handlers, valid_bundle
from tests.web.support import csrf_token, log_in
from web import accounts


@pytest.fixture
def engine(make_engine):
    """Versions 1 and 2 of the engine test bundle (v2 changes the classification script)."""
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="alice")
    return engine


def deploy_v2(
    engine, tmp_path, old="needs_approval = amount &gt; 100", new="needs_approval = amount &gt; 200"
):
    target = tmp_path / "v2"
    shutil.copytree(VALID, target)
    path = target / "main.bpmn"
    path.write_text(path.read_text().replace(old, new))
    engine.deploy(load_bundle(target), actor="bob")


def deploy_v2_replacing_approval(engine, tmp_path):
    """v2: the approval task (open at approval) gets another id and label: it blocks without a plan."""
    target = tmp_path / "v2"
    shutil.copytree(VALID, target)
    path = target / "main.bpmn"
    text = path.read_text().replace('task_approve"', 'task_consent"')
    text = text.replace("task_approve<", "task_consent<")
    path.write_text(text.replace('name="Approve the request"', 'name="Consent to the request"'))
    engine.deploy(load_bundle(target), actor="bob")


def at_approval(engine) -> int:
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})
    return instance_id


def test_versions_lists_hash_author_and_the_default(run, engine, tmp_path):
    deploy_v2(engine, tmp_path)
    result = run("versions")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("* v2 ") and "by bob" in lines[0]
    assert lines[1].startswith("  v1 ") and "by alice" in lines[1]
    with engine.reader() as session:
        hashes = dict(session.execute(select(Deployment.version, Deployment.content_hash)).all())
    assert hashes[2][:12] in lines[0]


def test_versions_use_rolls_back_and_new_instances_follow(run, engine, tmp_path):
    deploy_v2(engine, tmp_path)
    result = run("versions", "use", "1")
    assert result.exit_code == 0, result.output
    assert "new instances start on v1 (was v2)" in result.output
    assert run("versions").output.splitlines()[1].startswith("* v1")
    instance_id = engine.start(actor="alice").instance_id
    assert engine.runtime(engine.instance(instance_id).deployment_id).version == 1


def test_versions_diff_prints_the_changes(run, engine, tmp_path):
    deploy_v2(engine, tmp_path)
    result = run("versions", "diff", "1", "2")
    assert result.exit_code == 0, result.output
    assert "changed ScriptTask approval_process/script_classify (scripts)" in result.output
    same = run("versions", "diff", "2", "2")
    assert "do not differ" in same.output


@pytest.mark.parametrize(
    "args",
    [
        ("versions", "diff", "1", "9"),
        ("versions", "use", "9"),
        ("migrate-instances", "--from", "1", "--to", "9"),
    ],
)
def test_unknown_versions_are_one_line_errors(run, engine, args):
    result = run(*args)
    assert result.exit_code == 1
    assert result.output == "error: no version 9\n"


def test_migrate_instances_dry_run_apply_and_revert(run, engine, tmp_path):
    entry = engine.start(actor="alice").instance_id
    approval = at_approval(engine)
    deploy_v2_replacing_approval(engine, tmp_path)

    dry = run("migrate-instances", "--from", "1", "--to", "2")
    assert dry.exit_code == 0, dry.output
    assert f"instance {entry}: movable" in dry.output
    assert f"instance {approval}: blocked" in dry.output
    assert "blocked: the task 'Approve the request' is open and does not exist in v2" in dry.output
    assert dry.output.splitlines()[-1] == "dry-run v1 -> v2: 1 blocked, 1 movable"
    assert engine.instance(entry).deployment_id == 1

    applied = run("migrate-instances", "--from", "1", "--to", "2", "--apply")
    assert applied.exit_code == 0, applied.output
    assert applied.output.splitlines()[-1] == "apply v1 -> v2: 1 blocked, 1 migrated"
    assert engine.runtime(engine.instance(entry).deployment_id).version == 2

    reverted = run("migrate-instances", "--from", "1", "--to", "2", "--revert")
    assert reverted.exit_code == 0, reverted.output
    assert f"instance {entry}: reverted" in reverted.output
    assert engine.instance(entry).deployment_id == 1


def test_migrate_instances_options_are_exclusive_choices(run, engine):
    result = run("migrate-instances", "--from", "1")
    assert result.exit_code == 2 and "--to" in result.output


# ---------------------------------------------------------------------- /admin pages


@pytest.fixture
def users(db):
    writer, _ = make_session_factories(db)
    with writer() as session, session.begin():
        accounts.create_user(session, "root", "secret-pw", "Root", (), ("admin",))
        accounts.create_user(session, "agent", "secret-pw", "Agent", ("cs_center",), ("agent",))


def test_admin_pages_are_for_admins_only(client, users, engine):
    assert client.get("/admin/versions").status_code == 302  # to the login page
    log_in(client, "agent", "secret-pw")
    assert client.get("/admin/versions").status_code == 403
    assert client.get("/admin/migration?from=1&to=2").status_code == 403


def test_admin_versions_page_shows_the_diff_and_sets_the_default(client, users, engine, tmp_path):
    deploy_v2(engine, tmp_path)
    log_in(client, "root", "secret-pw")
    page = client.get("/admin/versions").get_data(as_text=True)
    assert "script_classify" in page and "scripts" in page and "<strong>default</strong>" in page
    token = csrf_token(client, "/admin/versions")
    assert client.post("/admin/versions/default", data={"version": "1"}).status_code == 400  # no token
    response = client.post("/admin/versions/default", data={"version": "1", "csrf_token": token})
    assert response.status_code == 302
    assert engine.runtime(engine.instance(engine.start(actor="x").instance_id).deployment_id).version == 1


def test_admin_migration_dry_run_then_apply(client, users, engine, tmp_path):
    entry = engine.start(actor="alice").instance_id
    approval = at_approval(engine)
    deploy_v2_replacing_approval(engine, tmp_path)
    log_in(client, "root", "secret-pw")
    page = client.get("/admin/migration?from=1&to=2").get_data(as_text=True)
    assert "1 blocked, 1 movable" in page
    assert "the task &#39;Approve the request&#39; is open and does not exist in v2" in page
    assert engine.instance(entry).deployment_id == 1
    token = csrf_token(client, "/admin/migration?from=1&to=2")
    applied = client.post("/admin/migration/runs?from=1&to=2", data={"csrf_token": token})
    assert applied.status_code == 302
    for thread in client.application.extensions["migration_threads"].values():
        thread.join()
    progress = client.get(applied.headers["Location"] + ".json").get_json()
    assert (progress["status"], progress["moved"], progress["blocked"]) == ("done", 1, 1)
    assert engine.runtime(engine.instance(entry).deployment_id).version == 2
    assert engine.instance(approval).deployment_id == 1


def test_admin_pages_speak_chinese(client, users, engine, tmp_path):
    engine.start(actor="alice")
    at_approval(engine)
    deploy_v2_replacing_approval(engine, tmp_path)
    log_in(client, "root", "secret-pw")
    client.get("/language/zh")
    page = client.get("/admin/versions").get_data(as_text=True)
    assert "已部署的版本" in page
    assert "变更内容" in page and "修改" in page and "对比 v1" in page and "新实例从 v1 启动" in page
    assert "What changed" not in page and "Start new instances" not in page
    token = csrf_token(client, "/admin/versions")
    response = client.post("/admin/versions/default", data={"version": "1", "csrf_token": token})
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "新实例现在从 v1 启动（原为 v2）。" in flashed
    migration = client.get("/admin/migration?from=1&to=2").get_data(as_text=True)
    assert "迁移运行中的实例" in migration and "1 受阻, 1 可迁移" in migration
    assert "将 1 个可迁移实例迁移到 v2" in migration
    assert "Dry run" not in migration and "movable" not in migration
