"""Account changes made by a person, each audited in the transaction that makes it.

The command line (``complaints users``) and the admin page (``/admin/users``) both go
through these functions, so a change and its entry in the tamper-evident audit log
commit together or not at all, whichever way it was made. ``actor`` is the admin's
username on the web and ``cli:<OS user>`` on the command line. No password or token
secret is ever written to the log: only who, what, to whom and when.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from web import accounts, api_tokens, security_audit
from web.accounts import User
from web.api_tokens import IssuedToken


def create_user(
    session: Session,
    *,
    actor: str,
    now: datetime,
    username: str,
    password: str,
    display_name: str | None = None,
    groups: Iterable[str] = (),
    roles: Iterable[str] = (),
) -> User:
    user = accounts.create_user(session, username, password, display_name, groups, roles, now=now)
    _record(session, actor, now, "user_created", user, roles=user.roles, groups=user.groups)
    return user


def ensure_demo_users(session: Session, *, actor: str, now: datetime) -> list[str]:
    created = accounts.ensure_demo_users(session, now=now)
    for username in created:
        _record(session, actor, now, "user_created", accounts.find_user(session, username), demo=True)
    return created


def change_password(session: Session, *, actor: str, now: datetime, username: str, password: str) -> User:
    user = accounts.set_password(session, username, password)
    _record(session, actor, now, "password_changed", user)
    return user


def set_active(session: Session, *, actor: str, now: datetime, username: str, active: bool) -> User:
    """Enable or disable; a change to the state it already has is not logged."""
    was_active = _existing(session, username).active
    user = accounts.set_active(session, username, active)
    if was_active != active:
        _record(session, actor, now, "user_enabled" if active else "user_disabled", user)
    return user


def change_roles(session: Session, *, actor: str, now: datetime, username: str, roles: Iterable[str]) -> User:
    before = _existing(session, username).roles
    user = accounts.set_roles(session, username, roles)
    if user.roles != before:
        _record(session, actor, now, "roles_changed", user, before=before, after=user.roles)
    return user


def change_groups(
    session: Session, *, actor: str, now: datetime, username: str, groups: Iterable[str]
) -> User:
    before = _existing(session, username).groups
    user = accounts.set_groups(session, username, groups)
    if user.groups != before:
        _record(session, actor, now, "groups_changed", user, before=before, after=user.groups)
    return user


def issue_token(
    session: Session,
    *,
    actor: str,
    now: datetime,
    username: str,
    label: str,
    lifetime: timedelta | None = api_tokens.DEFAULT_LIFETIME,
) -> IssuedToken:
    issued = api_tokens.issue(session, username, label, now=now, lifetime=lifetime)
    expires = issued.row.expires_at
    security_audit.record(
        session,
        at=now,
        actor=actor,
        command="token_issued",
        detail={
            "username": accounts.normalize_username(username),
            "token_id": issued.row.id,
            "label": issued.row.label,
            "expires_at": expires.isoformat() if expires else None,
        },
    )
    return issued


def revoke_token(session: Session, *, actor: str, now: datetime, token_id: int) -> api_tokens.ApiToken:
    """Revoke one token; revoking a revoked one changes and logs nothing."""
    existing = api_tokens.find_token(session, token_id)
    already = existing is not None and existing.revoked_at is not None
    row = api_tokens.revoke(session, token_id, now=now)
    if not already:
        _record_revocation(session, actor, now, row)
    return row


def revoke_all_tokens(
    session: Session, *, actor: str, now: datetime, username: str
) -> list[api_tokens.ApiToken]:
    """Revoke every token of the user that is not revoked yet; returns those."""
    revoked = [row for row in api_tokens.tokens_of(session, username) if row.revoked_at is None]
    for row in revoked:
        api_tokens.revoke(session, row.id, now=now)
        _record_revocation(session, actor, now, row)
    return revoked


def _record_revocation(session: Session, actor: str, now: datetime, row: api_tokens.ApiToken) -> None:
    security_audit.record(
        session,
        at=now,
        actor=actor,
        command="token_revoked",
        detail={"username": api_tokens.owner_of(session, row), "token_id": row.id, "label": row.label},
    )


def _record(session: Session, actor: str, now: datetime, command: str, user: User, **detail: object) -> None:
    security_audit.record(
        session, at=now, actor=actor, command=command, detail={"username": user.username, **detail}
    )


def _existing(session: Session, username: str) -> User:
    user = accounts.find_user(session, accounts.normalize_username(username))
    if user is None:
        raise accounts.AccountError("username", "no user %(username)r", username=username.strip().lower())
    return user
