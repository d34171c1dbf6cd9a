"""Accounts with a lifecycle: password policy, reserved names, the last admin, sessions,
token expiry and revocation, the demo accounts in production, and the audit of each change.

Through the real database, the real ``complaints`` command (CliRunner) and the real API.
"""

from __future__ import annotations

import getpass
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.db import make_session_factories
from engine.models import AuditEvent
from engine.service import SYSTEM_ACTOR
from web import account_changes, accounts, api_tokens, public
from web.accounts import AccountError, User
from web.api_tokens import ApiToken
from web.cli import demo_users_refusal

STRONG = "tangerine kettle orbit"
ALSO_STRONG = "violet harbour cinema"


@pytest.fixture
def sessions(db):
    return make_session_factories(db)


@pytest.fixture
def session(sessions):
    writer, _ = sessions
    with writer() as session, session.begin():
        yield session


def audit_rows(reader, command: str | None = None) -> list[AuditEvent]:
    with reader() as session:
        query = select(AuditEvent).where(AuditEvent.instance_id.is_(None)).order_by(AuditEvent.id)
        if command is not None:
            query = query.where(AuditEvent.command == command)
        return list(session.scalars(query))


# ---------------------------------------------------------------------- password policy


@pytest.mark.parametrize("password", ["12345678", "password", "qwerty123", "11111111", "dispatcher"])
def test_the_commonest_passwords_and_the_username_are_refused(session, password):
    with pytest.raises(AccountError) as refused:
        accounts.create_user(session, "dispatcher", password)
    assert refused.value.field == "password"
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_a_refused_new_password_keeps_the_old_one(session):
    accounts.create_user(session, "alice", STRONG)
    with pytest.raises(AccountError, match="^password: is too easy to guess"):
        accounts.set_password(session, "alice", "12345678")
    assert accounts.authenticate(session, "alice", STRONG) is not None


def test_a_passphrase_is_accepted(session):
    accounts.create_user(session, "alice", STRONG)
    assert accounts.authenticate(session, "alice", STRONG) is not None


# ---------------------------------------------------------------------- reserved names


def test_the_system_actors_cannot_be_usernames(session):
    assert {SYSTEM_ACTOR, public.SUBMITTED_VIA, "cli"} <= accounts.RESERVED_USERNAMES
    for name in (SYSTEM_ACTOR, public.SUBMITTED_VIA, "System"):
        with pytest.raises(AccountError, match="reserved") as refused:
            accounts.create_user(session, name, STRONG)
        assert refused.value.field == "username"


# ---------------------------------------------------------------------- sessions, demo flag


def test_a_new_password_ends_sessions_and_the_demo_flag(session):
    accounts.ensure_demo_users(session)
    admin = accounts.find_user(session, "admin")
    assert admin.is_demo and admin.session_generation == 0
    accounts.set_password(session, "admin", STRONG)
    assert not admin.is_demo and admin.session_generation == 1
    assert accounts.authenticate(session, "admin", accounts.DEMO_PASSWORD) is None


def test_disabling_ends_sessions_and_enabling_does_not_reopen_them(session):
    accounts.create_user(session, "alice", STRONG)
    user = accounts.set_active(session, "alice", False)
    assert (user.active, user.session_generation) == (False, 1)
    user = accounts.set_active(session, "alice", True)
    assert (user.active, user.session_generation) == (True, 1)


# ---------------------------------------------------------------------- the last admin


def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(session):
    accounts.create_user(session, "root1", STRONG, roles=["admin"])
    with pytest.raises(AccountError, match="last active administrator") as refused:
        accounts.set_roles(session, "root1", ["agent"])
    assert refused.value.field == "roles"
    with pytest.raises(AccountError, match="last active administrator") as refused:
        accounts.set_active(session, "root1", False)
    assert refused.value.field == "active"
    assert accounts.find_user(session, "root1").roles == ["admin"]

    accounts.create_user(session, "root2", ALSO_STRONG, roles=["admin"])
    accounts.set_roles(session, "root1", ["agent"])  # another admin remains
    with pytest.raises(AccountError, match="'root2' is the last active administrator"):
        accounts.set_active(session, "root2", False)


# ---------------------------------------------------------------------- tokens and the API


@pytest.fixture
def api_app(make_app, clock):
    app = make_app(CLOCK=clock)
    with app.extensions["process_engine"].writer() as session, session.begin():
        accounts.create_user(session, "clara", STRONG, "Clara", ["clerks"], ["agent"])
    return app


def issue(app, clock, **options) -> tuple[str, int]:
    with app.extensions["process_engine"].writer() as session, session.begin():
        issued = account_changes.issue_token(
            session, actor="root", now=clock.now(), username="clara", label="crm", **options
        )
        return issued.secret, issued.row.id


def call(app, secret: str):
    return app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"})


def token_row(app, token_id: int) -> ApiToken:
    with app.extensions["process_engine"].reader() as session:
        return session.get(ApiToken, token_id)


def test_a_token_expires_after_its_lifetime(api_app, clock):
    secret, token_id = issue(api_app, clock)
    assert token_row(api_app, token_id).expires_at == clock.now() + api_tokens.DEFAULT_LIFETIME
    assert call(api_app, secret).status_code == 200
    clock.advance(api_tokens.DEFAULT_LIFETIME)
    refused = call(api_app, secret)
    assert refused.status_code == 401
    assert "expired" in refused.get_json()["error"]


def test_a_never_expiring_token_needs_asking_for(api_app, clock):
    secret, token_id = issue(api_app, clock, lifetime=None)
    assert token_row(api_app, token_id).expires_at is None
    clock.advance(timedelta(days=3650))
    assert call(api_app, secret).status_code == 200


def test_a_revoked_token_gets_401_saying_so(api_app, clock):
    secret, token_id = issue(api_app, clock)
    assert call(api_app, secret).status_code == 200
    with api_app.extensions["process_engine"].writer() as session, session.begin():
        account_changes.revoke_token(session, actor="root", now=clock.now(), token_id=token_id)
    refused = call(api_app, secret)
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["error"]
    assert call(api_app, "cpt_made-up").get_json()["error"] == "unknown token"


def test_a_disabled_users_token_gets_401(api_app, clock):
    secret, _ = issue(api_app, clock)
    with api_app.extensions["process_engine"].writer() as session, session.begin():
        accounts.set_active(session, "clara", False)
    refused = call(api_app, secret)
    assert refused.status_code == 401
    assert "disabled" in refused.get_json()["error"]


def test_last_use_is_recorded_at_most_once_a_minute(api_app, clock):
    secret, token_id = issue(api_app, clock)
    assert token_row(api_app, token_id).last_used_at is None
    first = clock.now()
    call(api_app, secret)
    assert token_row(api_app, token_id).last_used_at == first
    clock.advance(timedelta(seconds=59))
    call(api_app, secret)
    assert token_row(api_app, token_id).last_used_at == first  # no write this time
    clock.advance(timedelta(seconds=1))
    call(api_app, secret)
    assert token_row(api_app, token_id).last_used_at == first + timedelta(minutes=1)


# ---------------------------------------------------------------------- the command line


def create(run, name="alice", *options: str, password=STRONG):
    return run("users", "create", name, "--password-stdin", *options, input=f"{password}\n")


def test_no_password_on_the_command_line(run):
    result = run("users", "create", "alice", "--password", STRONG)
    assert result.exit_code == 2
    assert "No such option '--password'" in result.output


def test_create_asks_twice_at_a_hidden_prompt(run, sessions):
    differs = run("users", "create", "alice", input=f"{STRONG}\n{ALSO_STRONG}\n{STRONG}\n{STRONG}\n")
    assert differs.exit_code == 0, differs.output
    assert "do not match" in differs.output  # then asked again
    assert STRONG not in differs.output  # hidden
    with sessions[1]() as session:
        assert accounts.authenticate(session, "alice", STRONG) is not None


def test_passwd_from_the_prompt_or_standard_input(run, sessions):
    assert create(run).exit_code == 0
    prompted = run("users", "passwd", "alice", input=f"{ALSO_STRONG}\n{ALSO_STRONG}\n")
    assert prompted.exit_code == 0, prompted.output
    assert "password changed: alice" in prompted.output
    with sessions[1]() as session:
        assert accounts.authenticate(session, "alice", ALSO_STRONG) is not None

    weak = run("users", "passwd", "alice", "--password-stdin", input="12345678\n")
    assert weak.exit_code == 1
    assert weak.stderr.startswith("error: password: is too easy to guess")
    piped = run("users", "passwd", "alice", "--password-stdin", input=f"{STRONG}\n")
    assert piped.exit_code == 0, piped.output
    with sessions[1]() as session:
        assert accounts.authenticate(session, "alice", STRONG) is not None
        assert accounts.find_user(session, "alice").session_generation == 2


def test_disable_enable_and_role(run, sessions):
    assert create(run, "root1", "--role", "admin").exit_code == 0
    assert create(run, "alice", "--role", "agent").exit_code == 0
    disabled = run("users", "disable", "alice")
    assert disabled.exit_code == 0 and "[inactive]" in disabled.output
    with sessions[1]() as session:
        assert accounts.authenticate(session, "alice", STRONG) is None
    assert run("users", "enable", "alice").exit_code == 0
    with sessions[1]() as session:
        assert accounts.authenticate(session, "alice", STRONG) is not None

    promoted = run("users", "role", "alice", "supervisor", "admin")
    assert promoted.exit_code == 0
    assert "roles: admin, supervisor" in promoted.output
    last = run("users", "role", "root1")  # alice is an admin too now: allowed
    assert last.exit_code == 0 and "roles: -" in last.output
    refused = run("users", "disable", "alice")
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: active: 'alice' is the last active administrator\n",
    )


def test_token_lifecycle_on_the_command_line(run, sessions):
    assert create(run).exit_code == 0
    issued = run("users", "token", "alice", "--label", "crm", "--expires-days", "30")
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip()
    assert secret.startswith(api_tokens.PREFIX)
    assert run("users", "token", "alice", "--label", "backup", "--never-expires").exit_code == 0

    with sessions[1]() as session:
        rows = api_tokens.tokens_of(session, "alice")
        crm = next(row for row in rows if row.label == "crm")
        assert crm.expires_at - crm.created_at == timedelta(days=30)
        assert api_tokens.user_for_token(session, secret).username == "alice"
    listed = run("users", "tokens", "alice").output
    assert f"{crm.id}  crm  active  created " in listed and "backup  active" in listed
    assert "expires never" in listed and "last used never" in listed and "revoked -" in listed

    revoked = run("users", "revoke", str(crm.id))
    assert (revoked.exit_code, revoked.output) == (0, f"revoked: {crm.id}\n")
    assert f"{crm.id}  crm  revoked" in run("users", "tokens", "alice").output
    with sessions[1]() as session:
        assert api_tokens.user_for_token(session, secret) is None

    everything = run("users", "revoke", "--all", "alice")
    assert everything.exit_code == 0 and everything.output.startswith("revoked: ")
    assert run("users", "revoke", "--all", "alice").output == "no token left to revoke\n"
    assert run("users", "revoke").exit_code == 1
    assert run("users", "revoke", "999").stderr == "error: token: no token 999\n"
    assert run("users", "token", "alice", "--expires-days", "0").exit_code == 2


def test_every_account_change_on_the_command_line_is_audited(run, sessions):
    create(run, "root1", "--role", "admin")
    create(run, "alice", "--group", "clerks")
    run("users", "passwd", "alice", "--password-stdin", input=f"{ALSO_STRONG}\n")
    run("users", "disable", "alice")
    run("users", "enable", "alice")
    run("users", "role", "alice", "supervisor")
    run("users", "set-groups", "alice", "legal")
    run("users", "token", "alice", "--label", "crm")
    run("users", "revoke", "--all", "alice")

    rows = audit_rows(sessions[1])
    commands = [(row.command, json.loads(row.detail)["username"]) for row in rows]
    assert commands == [
        ("user_created", "root1"),
        ("user_created", "alice"),
        ("password_changed", "alice"),
        ("user_disabled", "alice"),
        ("user_enabled", "alice"),
        ("roles_changed", "alice"),
        ("groups_changed", "alice"),
        ("token_issued", "alice"),
        ("token_revoked", "alice"),
    ]
    assert {row.actor for row in rows} == {f"cli:{getpass.getuser()}"}
    roles = json.loads(rows[5].detail)
    assert (roles["before"], roles["after"]) == ([], ["supervisor"])
    for row in rows:  # no secret ever reaches the log
        assert STRONG not in row.detail and ALSO_STRONG not in row.detail and "cpt_" not in row.detail
    assert run("audit", "verify").exit_code == 0


def test_a_refused_change_leaves_no_audit_row(run, sessions):
    create(run)
    assert run("users", "passwd", "alice", "--password-stdin", input="password\n").exit_code == 1
    assert [row.command for row in audit_rows(sessions[1])] == ["user_created"]


# ---------------------------------------------------------------------- demo users in production


def test_production_refuses_active_demo_users(run, make_engine, monkeypatch):
    engine = make_engine()
    assert run("setup", "--demo-users").exit_code == 0
    refusal = demo_users_refusal(engine)
    assert "admin, billing, dispatcher" in refusal
    assert "complaints users passwd NAME" in refusal and "complaints users disable NAME" in refusal

    monkeypatch.setenv("COMPLAINTS_ENV", "production")
    refused = run("serve")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: COMPLAINTS_ENV=production and demo users are active")

    for name in [demo.username for demo in accounts.DEMO_USERS if demo.username != "admin"]:
        assert run("users", "disable", name).exit_code == 0
    assert demo_users_refusal(engine).count("are active with the published password: admin.") == 1
    assert run("users", "passwd", "admin", "--password-stdin", input=f"{STRONG}\n").exit_code == 0
    assert demo_users_refusal(engine) is None


def test_setup_refuses_demo_users_in_production(run, sessions, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_ENV", "production")
    refused = run("setup", "--demo-users")
    assert refused.exit_code == 1
    assert "--demo-users: refused with COMPLAINTS_ENV=production" in refused.stderr
    with sessions[1]() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_users_created_by_setup_are_flagged_and_audited(run, sessions):
    run("setup", "--demo-users")
    with sessions[1]() as session:
        assert accounts.active_demo_users(session) == sorted(demo.username for demo in accounts.DEMO_USERS)
    created = audit_rows(sessions[1], "user_created")
    assert len(created) == len(accounts.DEMO_USERS)
    assert all(json.loads(row.detail)["demo"] is True for row in created)
