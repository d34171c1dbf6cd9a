"""``complaints users``: accounts, their roles, groups, passwords, e-mail copies and API tokens."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from web import account_changes, accounts, api_tokens
from web.cli_common import account_errors, cli_actor, database_errors, fail
from web.system import build_engine


@click.group("users")
def users_group() -> None:
    """User accounts: who may log in, their candidate groups, roles and API tokens.

    Passwords are asked for at a hidden prompt (twice), or read as one line from
    standard input with --password-stdin; never from an option, which would leave
    them in the shell history and the process list. Every change is audited with
    the actor ``cli:<OS user>``.
    """


_PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="Read the password as one line from standard input (no prompt)."
)


@users_group.command("create")
@click.argument("username")
@_PASSWORD_STDIN
@click.option("--display-name", default=None, help="Shown in the app (default: the username).")
@click.option("--group", "groups", multiple=True, help="A candidate group (repeatable).")
@click.option("--role", "roles", multiple=True, help=f"One of {', '.join(accounts.ROLES)} (repeatable).")
def users_create(
    username: str,
    password_stdin: bool,
    display_name: str | None,
    groups: tuple[str, ...],
    roles: tuple[str, ...],
) -> None:
    """Create a user (the password is asked for, or read with --password-stdin)."""
    password = _read_password(password_stdin)
    engine = build_engine()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        user = account_changes.create_user(
            session,
            actor=cli_actor(),
            now=engine.clock.now(),
            username=username,
            password=password,
            display_name=display_name,
            groups=groups,
            roles=roles,
        )
        line = _user_line(user)
    click.echo(f"created {line}")


@users_group.command("passwd")
@click.argument("username")
@_PASSWORD_STDIN
def users_passwd(username: str, password_stdin: bool) -> None:
    """Set a new password: the user's open sessions end; a demo account stops being one."""
    password = _read_password(password_stdin)
    engine = build_engine()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        user = account_changes.change_password(
            session, actor=cli_actor(), now=engine.clock.now(), username=username, password=password
        )
        name = user.username
    click.echo(f"password changed: {name} (open sessions ended)")


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Stop USERNAME logging in and using API tokens; history is kept, open sessions end."""
    _set_active(username, False)


@users_group.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Let a disabled user log in again."""
    _set_active(username, True)


def _set_active(username: str, active: bool) -> None:
    engine = build_engine()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        line = _user_line(
            account_changes.set_active(
                session, actor=cli_actor(), now=engine.clock.now(), username=username, active=active
            )
        )
    click.echo(f"{'enabled' if active else 'disabled'} {line}")


@users_group.command("role")
@click.argument("username")
@click.argument("roles", nargs=-1)
def users_role(username: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles (none given: no roles): agent, supervisor, process_owner, admin."""
    engine = build_engine()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        user = account_changes.change_roles(
            session, actor=cli_actor(), now=engine.clock.now(), username=username, roles=roles
        )
        line = _user_line(user)
    click.echo(f"updated {line}")


@users_group.command("set-groups")
@click.argument("username")
@click.argument("groups", nargs=-1)
def users_set_groups(username: str, groups: tuple[str, ...]) -> None:
    """Replace a user's candidate groups (none given: no groups)."""
    engine = build_engine()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        user = account_changes.change_groups(
            session, actor=cli_actor(), now=engine.clock.now(), username=username, groups=groups
        )
        line = _user_line(user)
    click.echo(f"updated {line}")


@users_group.command("list")
def users_list() -> None:
    """List every user with roles and groups."""
    engine = build_engine()
    with database_errors(), engine.reader() as session:
        lines = [_user_line(user) for user in accounts.list_users(session)]
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("no users yet: `complaints users create` or `complaints setup --demo-users`")


@users_group.command("token")
@click.argument("username")
@click.option("--label", default="api", show_default=True, help="What the token is for.")
@click.option(
    "--expires-days",
    type=click.IntRange(1, 3650),
    default=api_tokens.DEFAULT_LIFETIME.days,
    show_default=True,
    help="Days until the token stops working.",
)
@click.option("--never-expires", is_flag=True, help="A token that works until revoked (avoid).")
def users_token(username: str, label: str, expires_days: int, never_expires: bool) -> None:
    """Print a new API token acting as USERNAME (shown once; only its hash is kept).

    Only the token goes to standard output, for scripts; `users tokens NAME` shows its id and expiry.
    """
    from datetime import timedelta

    lifetime = None if never_expires else timedelta(days=expires_days)
    engine = build_engine()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        issued = account_changes.issue_token(
            session,
            actor=cli_actor(),
            now=engine.clock.now(),
            username=username,
            label=label,
            lifetime=lifetime,
        )
    click.echo(issued.secret)


@users_group.command("tokens")
@click.argument("username")
def users_tokens(username: str) -> None:
    """List USERNAME's API tokens: id, label, created, expires, last used, revoked."""
    engine = build_engine()
    now = engine.clock.now()
    with database_errors(), account_errors(), engine.reader() as session:
        rows = api_tokens.tokens_of(session, username)
        lines = [
            f"{row.id}  {row.label}  {row.state(now)}  created {_when(row.created_at)}"
            f"  expires {_when(row.expires_at, 'never')}  last used {_when(row.last_used_at, 'never')}"
            f"  revoked {_when(row.revoked_at, '-')}"
            for row in rows
        ]
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo(f"no tokens: `complaints users token {username}` issues one")


@users_group.command("revoke")
@click.argument("token_id", type=int, required=False)
@click.option("--all", "all_of", metavar="USERNAME", default=None, help="Revoke every token of this user.")
def users_revoke(token_id: int | None, all_of: str | None) -> None:
    """Revoke API token TOKEN_ID (see `users tokens NAME`), or every token of a user with --all."""
    if (token_id is None) == (all_of is None):
        fail("give either TOKEN_ID or --all USERNAME")
    engine = build_engine()
    actor, now = cli_actor(), engine.clock.now()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        if all_of is not None:
            ids = [
                row.id
                for row in account_changes.revoke_all_tokens(session, actor=actor, now=now, username=all_of)
            ]
        else:
            ids = [account_changes.revoke_token(session, actor=actor, now=now, token_id=token_id).id]
    click.echo(f"revoked: {', '.join(map(str, ids))}" if ids else "no token left to revoke")


def _read_password(from_stdin: bool) -> str:
    """One line of standard input, or a hidden prompt asked twice."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)




def _when(instant: datetime | None, empty: str = "-") -> str:
    return instant.isoformat(timespec="seconds") if instant else empty


@users_group.command("email")
@click.argument("username")
@click.argument("address", required=False, default="")
def users_email(username: str, address: str) -> None:
    """Send USERNAME's notifications also to ADDRESS by e-mail (no ADDRESS: stop); needs SMTP_HOST."""
    from web import notifications

    engine = build_engine()
    with database_errors(), account_errors(), engine.writer() as session, session.begin():
        notifications.set_address(session, username, address or None)
    click.echo(f"{username}: e-mail copies {'to ' + address if address else 'off'}")


def _user_line(user: accounts.User) -> str:
    state = ("" if user.active else "  [inactive]") + ("  [demo]" if user.is_demo else "")
    return (
        f"{user.username}  ({user.display_name})  roles: {', '.join(sorted(user.roles)) or '-'}"
        f"  groups: {', '.join(sorted(user.groups)) or '-'}{state}"
    )
