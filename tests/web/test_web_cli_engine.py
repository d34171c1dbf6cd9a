"""``complaints validate / deploy / due / audit verify`` as an admin runs them: exit codes, no tracebacks."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

from tests.engine.support import BUNDLES, VALID


@pytest.fixture
def broken_bundle(tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(BUNDLES / "messages", folder)
    path = folder / "chase.bpmn"
    path.write_text(path.read_text().replace('name="Handle the case"', 'name="Handle the case" bogus="1"'))
    (folder / "forms" / "remind.json").unlink()
    return folder


def test_validate_a_valid_bundle_exits_0(run):
    result = run("validate", str(BUNDLES / "messages"))
    assert result.exit_code == 0, result.output
    assert "valid:" in result.output


def test_validate_lists_every_problem_and_exits_1_without_a_traceback(run, broken_bundle):
    result = run("validate", str(broken_bundle))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "chase.bpmn:" in result.output and "bogus" in result.output
    assert "remind.json" in result.output
    assert "nothing was stored" in result.output


def test_validate_a_path_that_is_not_a_bundle_is_one_line(run, tmp_path):
    result = run("validate", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert result.output.startswith("error:") and "Traceback" not in result.output


def test_deploy_twice_creates_one_version(run):
    first = run("deploy", str(BUNDLES / "messages"))
    second = run("deploy", str(BUNDLES / "messages"))
    assert first.exit_code == 0 and "deployed as version 1" in first.output
    assert second.exit_code == 0 and "unchanged, already version 1" in second.output


def test_deploy_refuses_an_invalid_bundle_and_stores_nothing(run, broken_bundle):
    assert run("deploy", str(broken_bundle)).exit_code == 1
    result = run("due", "--calendar", "x", "--from", "2026-11-27T11:00:00+08:00", "--add", "PT2H")
    assert "nothing is deployed yet" in result.output


@pytest.mark.parametrize(
    ("start", "due"),
    [
        ("2026-11-27T11:00:00+01:00", "2026-11-27T15:30:00+01:00"),  # across lunch
        ("2026-11-27T17:30:00+01:00", "2026-11-30T09:30:00+01:00"),  # Friday evening -> Monday
        ("2026-11-27T10:00:00Z", "2026-11-27T15:30:00+01:00"),  # another zone in, the calendar's out
    ],
)
def test_due_prints_the_instant_with_its_offset(run, start, due):
    result = run("due", "--bundle", str(VALID), "--calendar", "office", "--from", start, "--add", "PT2H")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == due


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--calendar", "nope", "--from", "2026-11-27T11:00:00+01:00", "--add", "PT2H"], "--calendar"),
        (["--calendar", "office", "--from", "2026-11-27T11:00:00", "--add", "PT2H"], "no offset"),
        (["--calendar", "office", "--from", "tomorrow", "--add", "PT2H"], "--from"),
        (["--calendar", "office", "--from", "2026-11-27T11:00:00+01:00", "--add", "2 hours"], "--add"),
    ],
)
def test_due_names_the_bad_option(run, args, message):
    result = run("due", "--bundle", str(VALID), *args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_due_reads_the_newest_deployed_version_by_default(run, tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "messages", folder)
    (folder / "procedure.toml").write_text(
        'main_process = "chase_process"\n[calendars.reply]\ntimezone = "Asia/Shanghai"\n'
        'windows = ["08:00-12:00", "14:30-20:00"]\n'
    )
    assert run("deploy", str(folder)).exit_code == 0
    result = run("due", "--calendar", "reply", "--from", "2026-11-27T19:30:00+08:00", "--add", "PT2H")
    assert result.output.strip() == "2026-11-28T09:30:00+08:00"


def test_audit_verify_passes_then_detects_tampering(run, db):
    run("deploy", str(BUNDLES / "messages"))
    assert run("audit", "verify").exit_code == 0
    with db.begin() as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'mallory'"))
    result = run("audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN event 1: content does not match its hash" in result.output
