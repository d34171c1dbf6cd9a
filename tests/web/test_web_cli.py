"""``complaints setup`` and ``complaints users``, run as a user would (CliRunner, real database)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from engine.db import make_session_factories
from engine.models import AuditEvent, Deployment
from tests.engine.support import VALID
from web.accounts import DEMO_USERS, User, authenticate


@pytest.fixture
def reader(db):
    return make_session_factories(db)[1]


@pytest.fixture
def bundle(tmp_path):
    """A bundle that needs no handlers (the domain registry knows none of the test bundle's)."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    shutil.copy(VALID / "archive.bpmn", folder)
    (folder / "procedure.toml").write_text('main_process = "archive_process"\n')
    return folder


def test_users_create_then_list(run, reader):
    created = run(
        "users", "create", "Alice",
        "--display-name", "Alice Liddell", "--group", "clerk", "--group", "dept:network",
        "--role", "agent",
        input="correct horse\ncorrect horse\n",  # the hidden prompt, asked twice
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "created alice" in created.output

    listed = run("users", "list")
    assert listed.exit_code == 0
    assert "alice  (Alice Liddell)  roles: agent  groups: clerk, dept:network" in listed.output
    with reader() as session:
        assert authenticate(session, "alice", "correct horse") is not None


def test_users_create_refuses_a_short_password_in_one_line(run, reader):
    result = run("users", "create", "alice", "--password-stdin", input="demo\n")
    assert result.exit_code == 1
    assert result.stderr == "error: password: must be at least 8 characters\n"
    assert "Traceback" not in result.output
    with reader() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_users_create_refuses_an_unknown_role(run):
    result = run("users", "create", "alice", "--password-stdin", "--role", "boss", input="long enough\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: roles: unknown role 'boss'")


def test_users_set_groups(run):
    run("users", "create", "alice", "--password-stdin", "--group", "clerk", input="long enough\n")
    result = run("users", "set-groups", "alice", "manager", "legal")
    assert result.exit_code == 0, result.output
    assert "groups: legal, manager" in run("users", "list").output

    missing = run("users", "set-groups", "nobody", "clerk")
    assert (missing.exit_code, missing.stderr) == (1, "error: username: no user 'nobody'\n")


def test_setup_twice_changes_nothing_the_second_time(run, reader, bundle):
    first = run("setup", "--bundle", str(bundle), "--demo-users")
    assert first.exit_code == 0, first.output
    assert "deployed as version 1" in first.output
    assert "demo users created" in first.output

    def state():
        with reader() as session:
            return [
                session.scalar(select(func.count()).select_from(table))
                for table in (Deployment, User, AuditEvent)
            ]

    before = state()
    assert before[:2] == [1, len(DEMO_USERS)]

    second = run("setup", "--bundle", str(bundle), "--demo-users")
    assert second.exit_code == 0, second.output
    assert "unchanged, already version 1" in second.output
    assert "demo users already present" in second.output
    assert state() == before


def test_setup_with_an_invalid_bundle_fails_in_plain_words(run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("setup", "--bundle", str(empty))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") or "problem(s)" in result.stderr
    assert "Traceback" not in result.output
