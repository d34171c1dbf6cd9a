"""Accounts: hashed passwords, authentication, input errors that name the field, demo users."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Table, func, select, text
from werkzeug.security import check_password_hash

from engine.db import Base, make_session_factories
from web import accounts
from web.accounts import AccountError, User

WEB_TABLES = {"users", "user_groups", "user_roles"}


@pytest.fixture
def session(db):
    writer, _ = make_session_factories(db)
    with writer() as session, session.begin():
        yield session


def test_password_is_stored_only_as_a_hash(session):
    accounts.create_user(session, "alice", "correct horse", "Alice", ["clerk"], ["agent"])
    stored = session.scalar(text("SELECT password_hash FROM users WHERE username = 'alice'"))
    assert "correct horse" not in stored
    assert stored.startswith(("scrypt:", "pbkdf2:"))
    assert check_password_hash(stored, "correct horse")


def test_authenticate_accepts_the_right_password_only(session):
    accounts.create_user(session, "alice", "correct horse", "Alice", ["clerk"], ["agent"])
    user = accounts.authenticate(session, "alice", "correct horse")
    assert user is not None and (user.username, user.groups, user.roles) == (
        "alice",
        ["clerk"],
        ["agent"],
    )
    assert accounts.authenticate(session, " ALICE ", "correct horse") is user  # case-insensitive
    assert accounts.authenticate(session, "alice", "wrong horse") is None
    assert accounts.authenticate(session, "alice", "") is None
    assert accounts.authenticate(session, "nobody", "correct horse") is None
    assert accounts.authenticate(session, "", "correct horse") is None


def test_a_deactivated_user_cannot_log_in(session):
    accounts.create_user(session, "alice", "correct horse")
    accounts.set_active(session, "alice", False)
    assert accounts.authenticate(session, "alice", "correct horse") is None


@pytest.mark.parametrize(
    ("username", "password", "groups", "roles", "field"),
    [
        ("", "long enough", [], [], "username"),
        ("   ", "long enough", [], [], "username"),
        ("has space", "long enough", [], [], "username"),
        ("alice", "short", [], [], "password"),
        ("alice", "long enough", ["two words"], [], "groups"),
        ("alice", "long enough", [], ["boss"], "roles"),
    ],
)
def test_bad_input_names_the_field(session, username, password, groups, roles, field):
    with pytest.raises(ValueError) as refused:
        accounts.create_user(session, username, password, None, groups, roles)
    assert isinstance(refused.value, AccountError)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_unknown_role_lists_the_known_ones(session):
    with pytest.raises(AccountError, match="unknown role 'boss'.*supervisor"):
        accounts.create_user(session, "alice", "long enough", roles=["boss"])


def test_short_passwords_only_for_demo_accounts(session):
    with pytest.raises(AccountError, match="at least 8"):
        accounts.create_user(session, "alice", "demo")
    accounts.create_user(session, "alice", "demo", demo=True)
    with pytest.raises(AccountError, match="at least 4"):
        accounts.create_user(session, "bob", "abc", demo=True)


def test_usernames_are_unique_whatever_the_case(session):
    accounts.create_user(session, "alice", "long enough")
    with pytest.raises(AccountError) as refused:
        accounts.create_user(session, "Alice", "long enough")
    assert refused.value.field == "username"


def test_set_groups_replaces_the_groups(session):
    accounts.create_user(session, "alice", "long enough", groups=["clerk", "manager"])
    accounts.set_groups(session, "alice", ["manager", "dept:network"])
    session.expire_all()
    user = accounts.find_user(session, "alice")
    assert sorted(user.groups) == ["dept:network", "manager"]
    assert [u.username for u in accounts.users_in_group(session, "dept:network")] == ["alice"]
    assert accounts.users_in_group(session, "clerk") == []
    accounts.set_groups(session, "alice", [])
    assert accounts.find_user(session, "alice").groups == []
    with pytest.raises(AccountError) as refused:
        accounts.set_groups(session, "nobody", ["clerk"])
    assert refused.value.field == "username"


def test_demo_users_are_created_once(session):
    created = accounts.ensure_demo_users(session)
    assert created == [demo.username for demo in accounts.DEMO_USERS]
    assert len(created) == 11  # one per actor, the T4 branch complaint handler included
    assert accounts.ensure_demo_users(session) == []
    assert session.scalar(select(func.count()).select_from(User)) == 11

    network = accounts.authenticate(session, "network", accounts.DEMO_PASSWORD)
    assert (network.groups, network.roles) == (["dept:network"], ["agent"])
    supervisor = accounts.find_user(session, "supervisor")
    assert (supervisor.groups, supervisor.roles) == (["supervisor"], ["supervisor"])
    assert accounts.find_user(session, "owner").roles == ["process_owner"]
    assert accounts.find_user(session, "admin").roles == ["admin"]


def test_demo_users_keep_their_changes_when_ensured_again(session):
    accounts.ensure_demo_users(session)
    accounts.set_password(session, "admin", "a much better password")
    accounts.set_groups(session, "intake", ["intake", "cs_center"])
    accounts.ensure_demo_users(session)
    assert accounts.authenticate(session, "admin", "demo") is None
    assert accounts.authenticate(session, "admin", "a much better password") is not None
    assert sorted(accounts.find_user(session, "intake").groups) == ["cs_center", "intake"]


def test_web_migration_matches_the_models(db):
    with db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [diff for diff in differences if _table_of(diff) in WEB_TABLES]
    assert ours == []


def _table_of(diff) -> str | None:
    """The table an autogenerate difference is about (tuples differ in shape per kind)."""
    if isinstance(diff, list):  # column modifications: [("modify_...", schema, table, ...)]
        return diff[0][2] if diff else None
    for part in diff[1:]:
        if isinstance(part, str) and part in WEB_TABLES:
            return part
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if isinstance(part, Table):
            return part.name
    return None
