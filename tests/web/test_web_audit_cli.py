"""``complaints audit checkpoint / verify / seal`` and the audit key as an operator meets them.

Also what reaches the log from the web: an evidence upload is an audit event.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.audit_key import AuditKey, key_text
from engine.bundle import load_bundle
from engine.models import AuditEvent
from tests.engine.audit_forger import forge, plain_sha256, truncate
from tests.engine.support import BUNDLES
from tests.web.support import csrf_token, log_in
from web import accounts
from web.cli import main

FORMS = Path(__file__).with_name("bundles") / "forms"
MESSAGES = BUNDLES / "messages"


@pytest.fixture
def run_with(db, database_url):
    """``run_with({"AUDIT_KEY": None}, "audit", "verify")``: the command with changed variables."""

    def invoke(env: dict[str, str | None], *args: str):
        return CliRunner().invoke(main, list(args), env={"DATABASE_URL": database_url, **env})

    return invoke


@pytest.fixture
def deployed_twice(run, make_engine, tmp_path):
    """Two deploy events in the log; the engine lets tests play the attacker."""
    renamed = tmp_path / "renamed"
    shutil.copytree(MESSAGES, renamed)
    diagram = renamed / "chase.bpmn"
    diagram.write_text(diagram.read_text().replace('name="Handle the case"', 'name="Handle the case now"'))
    assert run("deploy", str(MESSAGES)).exit_code == 0
    assert run("deploy", str(renamed)).exit_code == 0
    return make_engine()


def test_a_checkpoint_written_to_a_file_verifies_and_says_so(run, deployed_twice, tmp_path):
    out = tmp_path / "checkpoint.json"
    made = run("audit", "checkpoint", "--out", str(out))
    assert made.exit_code == 0, made.output
    assert "checkpoint of event 2 (2 events)" in made.output
    stored = json.loads(out.read_text())
    assert (stored["event_id"], stored["events"], stored["format"]) == (2, 2, "audit-checkpoint/1")
    checked = run("audit", "verify", "--checkpoint", str(out))
    assert checked.exit_code == 0, checked.output
    assert "audit log intact" in checked.output and "1 checkpoint(s) matched" in checked.output


def test_a_checkpoint_without_out_is_printed(run, deployed_twice):
    made = run("audit", "checkpoint")
    assert made.exit_code == 0
    assert json.loads(made.output)["event_id"] == 2


def test_a_truncated_log_with_a_rewritten_head_fails_only_against_the_checkpoint(
    run, deployed_twice, tmp_path
):
    out = tmp_path / "checkpoint.json"
    assert run("audit", "checkpoint", "--out", str(out)).exit_code == 0
    truncate(deployed_twice, keep=1)
    assert run("audit", "verify").exit_code == 0  # the log alone cannot tell
    checked = run("audit", "verify", "--checkpoint", str(out))
    assert checked.exit_code == 1
    assert "BROKEN checkpoint of " in checked.output
    assert "its event is missing, the log ends at event 1: records were deleted" in checked.output
    assert "Traceback" not in checked.output


def test_an_edit_recomputed_in_plain_sha256_fails_verify(run, deployed_twice):
    forge(deployed_twice, from_id=2, sign=plain_sha256, actor="mallory")
    checked = run("audit", "verify")
    assert checked.exit_code == 1
    assert (
        "BROKEN event 2: a plain SHA-256 hash after keyed events: rewritten without the key" in checked.output
    )


def test_no_checkpoint_is_signed_for_a_broken_log(run, deployed_twice, tmp_path):
    forge(deployed_twice, from_id=2, sign=plain_sha256, actor="mallory")
    out = tmp_path / "checkpoint.json"
    made = run("audit", "checkpoint", "--out", str(out))
    assert made.exit_code == 1
    assert "no checkpoint made" in made.output and not out.exists()


def test_an_unreadable_checkpoint_file_is_one_line_naming_it(run, deployed_twice, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "audit-checkpoint/1", "chain": "global"}')
    checked = run("audit", "verify", "--checkpoint", str(bad))
    assert checked.exit_code == 1
    assert f"error: --checkpoint {bad}: event_id: missing or not an integer" in checked.output
    missing = run("audit", "verify", "--checkpoint", str(tmp_path / "none.json"))
    assert missing.exit_code == 1 and "none.json: No such file or directory" in missing.output


def test_a_wrong_key_says_no_event_matches_it(run_with, deployed_twice):
    other = AuditKey(b"\x07" * 32)
    checked = run_with({"AUDIT_KEY": key_text(other)}, "audit", "verify")
    assert checked.exit_code == 1
    assert f"BROKEN audit key: no event matches the key {other.key_id}" in checked.output


def test_without_a_key_commands_and_the_server_stop_with_one_line(run_with, tmp_path):
    no_key = {"AUDIT_KEY": None, "AUDIT_KEY_FILE": str(tmp_path / "audit.key")}
    for command in (("audit", "verify"), ("serve",), ("deploy", str(MESSAGES))):
        result = run_with(no_key, *command)
        assert result.exit_code == 1, command
        assert f"error: no audit key: {tmp_path / 'audit.key'} does not exist and AUDIT_KEY is not set" in (
            result.output
        )
        assert "Traceback" not in result.output
    assert run_with(no_key, "validate", str(MESSAGES)).exit_code == 0  # writes nothing, needs no key


def test_a_garbled_key_is_named(run_with):
    result = run_with({"AUDIT_KEY": "not a key!"}, "audit", "verify")
    assert result.exit_code == 1
    assert "error: AUDIT_KEY: neither hex nor base64" in result.output


def test_setup_creates_a_private_key_beside_a_new_database_and_keeps_it(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "AUDIT_KEY": None,
        "AUDIT_KEY_FILE": None,
    }
    first = CliRunner().invoke(main, ["setup", "--bundle", str(MESSAGES)], env=env)
    assert first.exit_code == 0, first.output
    key_file = tmp_path / "audit.key"
    assert f"audit key created: {key_file}" in first.output
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text()
    again = CliRunner().invoke(main, ["setup", "--bundle", str(MESSAGES)], env=env)
    assert again.exit_code == 0 and "audit key created" not in again.output
    assert key_file.read_text() == key
    checked = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert checked.exit_code == 0, checked.output


def test_setup_does_not_replace_the_lost_key_of_a_keyed_log(run_with, deployed_twice, tmp_path):
    key_file = tmp_path / "audit.key"
    result = run_with({"AUDIT_KEY": None, "AUDIT_KEY_FILE": str(key_file)}, "setup")
    assert result.exit_code == 1
    assert "the audit log was written with a key, but none is configured: restore it" in result.output
    assert not key_file.exists()


def test_a_log_begun_before_the_key_is_sealed_by_setup_or_audit_seal(run, deployed_twice):
    forge(deployed_twice, from_id=1, sign=plain_sha256)  # as the code before the key wrote it
    unsealed = run("audit", "verify")
    assert unsealed.exit_code == 1
    assert "BROKEN unkeyed log: events 1-2 carry plain SHA-256 hashes" in unsealed.output
    sealed = run("setup")
    assert sealed.exit_code == 0, sealed.output
    assert "audit log: events 1-2 (unkeyed) sealed by keyed event 3" in sealed.output
    assert run("audit", "verify").exit_code == 0
    assert "nothing unkeyed to seal" in run("audit", "seal").output


def test_an_evidence_upload_is_an_audit_event_in_the_intact_log(make_app, clock, run):
    app = make_app(CLOCK=clock)
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(FORMS), actor="owner")
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "clara", "password-1", "Clara", ["clerks"], ["agent"])
    [task_id] = engine.start(actor="clara", business_key="TS-0001").opened_task_ids
    clara = app.test_client()
    log_in(clara, "clara", "password-1")
    token = csrf_token(clara, f"/tasks/{task_id}")
    for content in (b"", b"signed agreement of the customer"):  # the empty one is refused
        clara.post(
            f"/tasks/{task_id}/evidence",
            data={"evidence": (io.BytesIO(content), "agreement.txt"), "csrf_token": token},
            content_type="multipart/form-data",
        )
    with engine.reader() as session:
        uploads = session.scalars(select(AuditEvent).where(AuditEvent.command == "evidence_uploaded")).all()
    [upload] = uploads
    assert upload.actor == "clara" and upload.instance_id is None
    detail = json.loads(upload.detail)
    assert detail["task_id"] == task_id and detail["filename"] == "agreement.txt" and detail["size"] == 32
    assert detail["sha256"] == hashlib.sha256(b"signed agreement of the customer").hexdigest()
    assert detail["instance_id"] == engine.task(task_id).instance_id
    assert run("audit", "verify").exit_code == 0
