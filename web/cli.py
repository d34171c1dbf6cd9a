"""The ``complaints`` command: set up, deploy, validate, compute deadlines, audit, users, serve.

Every command reports problems as plain sentences and exits 1; none shows a traceback
for bad input.
"""

from __future__ import annotations

import os
import sys
import tomllib
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from engine import audit, audit_checkpoint, drafts, migration_apply, versions
from engine.audit_key import AuditKeyError
from engine.bundle import BundleError, load_bundle
from engine.calendar import CalendarConfigError, calendars_from_config, parse_duration
from engine.deployments import bundle_config, latest_deployment
from engine.errors import EngineError
from engine.validation import BundleInvalid
from web import account_changes, accounts, api_tokens
from web.system import audit_key_file, build_engine, create_audit_key_file, database_url, upgrade_schema


class _Commands(click.Group):
    """A missing or unreadable audit key stops any command with one line, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AuditKeyError as error:
            _fail(str(error))


@click.group(cls=_Commands)
def main() -> None:
    """Run the customer-complaint procedure: see README.md."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    engine = build_engine(audit_key_required=False)
    with _database_errors():
        upgrade_schema(engine)
    click.echo(f"schema up to date: {database_url()}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
def validate(path: Path) -> None:
    """Check a bundle (folder or zip) without storing anything: exit 0 valid, 1 invalid."""
    engine = build_engine(audit_key_required=False)
    compiled = _compile_or_exit(engine, path)
    click.echo(f"valid: {path} ({len(compiled.specs)} processes, {len(compiled.forms)} forms)")


@main.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--draft", "draft_id", type=int, default=None, help="Deploy this submitted draft instead.")
@click.option("--actor", default="admin", show_default=True, help="Who deploys (audit log).")
def deploy(path: Path | None, draft_id: int | None, actor: str) -> None:
    """Validate a bundle (PATH, or a submitted --draft) and store it as a new version.

    Unchanged content creates no new version.
    """
    engine = build_engine()
    if (path is None) == (draft_id is None):
        _fail("give either PATH or --draft ID")
    if draft_id is not None:
        with _database_errors(), _engine_errors(), _invalid_bundle():
            outcome = drafts.deploy_draft(engine, draft_id, actor=actor)
    else:
        _compile_or_exit(engine, path)
        outcome = engine.deploy(load_bundle(path), actor=actor)
    state = "deployed as" if outcome.created else "unchanged, already"
    click.echo(f"{state} version {outcome.version} ({outcome.content_hash[:12]})")


@main.command("drafts")
def drafts_list() -> None:
    """Drafts made in the modeler: id, status, base version, problems, title."""
    engine = build_engine()
    with _database_errors():
        listed = drafts.list_drafts(engine)
    for draft in listed:
        problems = "?" if draft.problems is None else str(len(draft.problems))
        base = f"v{draft.base_version}" if draft.base_version else "-"
        became = f" -> v{draft.deployed_version}" if draft.deployed_version else ""
        click.echo(
            f"#{draft.id}  {draft.status}{became}  from {base}  problems {problems}  "
            f"saved by {draft.updated_by}  {draft.title}"
        )
    if not listed:
        click.echo("no drafts: process owners make them at /modeler")


@main.command()
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Read calendars from this bundle instead of the newest deployed version.",
)
@click.option("--calendar", "calendar_name", required=True, help="Calendar name in the config.")
@click.option("--from", "start", required=True, help="Start instant, ISO 8601 with offset.")
@click.option("--add", "duration", required=True, help="Working duration, ISO 8601 (e.g. PT2H).")
def due(bundle_path: Path | None, calendar_name: str, start: str, duration: str) -> None:
    """Print the instant when DURATION of working time has passed after START."""
    calendars = _calendars(bundle_path)
    if calendar_name not in calendars:
        known = ", ".join(sorted(calendars)) or "none"
        _fail(f"--calendar: no calendar named {calendar_name!r} (known: {known})")
    try:
        instant = datetime.fromisoformat(start)
    except ValueError:
        _fail(f"--from: {start!r} is not an ISO 8601 instant, e.g. 2026-11-27T11:00:00+08:00")
    if instant.tzinfo is None:
        _fail(f"--from: {start!r} has no offset; add one, e.g. +08:00")
    try:
        amount = parse_duration(duration)
    except ValueError as error:
        _fail(f"--add: {error}")
    click.echo(calendars[calendar_name].add(instant, amount).isoformat())


@main.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file from `audit checkpoint`: its event must still have its hash (repeatable).",
)
def audit_verify(checkpoint_files: tuple[Path, ...]) -> None:
    """Check each event's MAC and link, the head, each checkpoint: exit 0 intact, 1 listing every break."""
    checkpoints = [_read_checkpoint(path) for path in checkpoint_files]
    engine = build_engine()
    with _database_errors(), engine.reader() as session:
        breaks = audit.verify(session, checkpoints=checkpoints)
    _exit_on_breaks(breaks)
    matched = f", {len(checkpoints)} checkpoint(s) matched" if checkpoints else ""
    click.echo(f"audit log intact (key {engine.audit_key.key_id}{matched})")


@audit_group.command("checkpoint")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the checkpoint to this file (default: print it).",
)
def audit_checkpoint_command(out: Path | None) -> None:
    """Anchor the instance chains, then sign the global chain's newest event for keeping elsewhere.

    The anchor first records every instance chain's tip in the global chain, so the
    signed statement covers every event written so far.
    """
    engine = build_engine()
    with _database_errors():
        engine.anchor_audit_chains(every=timedelta(0))
    with _database_errors(), engine.reader() as session:
        made = audit_checkpoint.make(session, engine.audit_key, at=engine.clock.now())
        # Verified against the checkpoint itself: no statement is signed for a broken log.
        _exit_on_breaks(audit.verify(session, checkpoints=[made]), "no checkpoint made")
    text = audit_checkpoint.to_json(made) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        _fail(f"--out: {out}: {error.strerror}")
    click.echo(f"checkpoint of event {made.event_id} ({made.events} events) in {out}: keep it elsewhere")


@audit_group.command("anchor")
def audit_anchor() -> None:
    """Record the tips of the instance chains grown since the last anchor in the global chain now.

    Running nodes do it once a minute; this is for a quiet system or before a backup.
    """
    engine = build_engine()
    with _database_errors():
        anchored = engine.anchor_audit_chains(every=timedelta(0))
    click.echo(f"audit log: {anchored} instance chain(s) anchored")


@audit_group.command("seal")
@click.option("--actor", default="admin", show_default=True, help="Who seals (audit log).")
def audit_seal(actor: str) -> None:
    """Key a log begun before the audit key existed: one keyed event covering the unkeyed ones."""
    engine = build_engine()
    with _database_errors():
        if not _seal(engine, actor):
            click.echo("audit log: nothing unkeyed to seal")


def _seal(engine, actor: str) -> bool:
    with engine.writer() as session, session.begin():
        sealed = audit.seal(session, at=engine.clock.now(), actor=actor)
    if sealed is not None:
        click.echo(f"audit log: events 1-{sealed.seq - 1} (unkeyed) sealed by keyed event {sealed.seq}")
    return sealed is not None


def _read_checkpoint(path: Path) -> audit_checkpoint.Checkpoint:
    try:
        return audit_checkpoint.from_json(path.read_text(encoding="utf-8"))
    except OSError as error:
        _fail(f"--checkpoint {path}: {error.strerror}")
    except (UnicodeDecodeError, audit_checkpoint.CheckpointError) as error:
        _fail(f"--checkpoint {path}: {error}")


def _exit_on_breaks(breaks: list[audit.Break], consequence: str = "") -> None:
    if not breaks:
        return
    for found in breaks:
        click.echo(f"BROKEN {found}", err=True)
    _fail(f"{len(breaks)} break(s) in the audit log" + (f": {consequence}" if consequence else ""))


@main.command("fire-timers")
def fire_timers() -> None:
    """Fire every timer that is due now (the server's scheduler does this by itself)."""
    engine = build_engine()
    click.echo(f"stepped {engine.fire_all_due()} instances")


@main.command()
@click.option(
    "--bundle",
    "bundle_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Deploy this bundle (folder or zip); unchanged content stays the same version.",
)
@click.option(
    "--demo-users",
    is_flag=True,
    help="Create the demo accounts (password 'demo'): for trying the product only.",
)
@click.option(
    "--demo-complaints",
    type=click.IntRange(0),
    default=0,
    help="Run this many demo complaints through the procedure, only into a database without any.",
)
@click.option("--actor", default="admin", show_default=True, help="Who deploys (audit log).")
def setup(bundle_path: Path | None, demo_users: bool, demo_complaints: int, actor: str) -> None:
    """Migrate, create the audit key, deploy a bundle, create demo users; running it again changes nothing."""
    engine = build_engine(audit_key_required=False)  # the key may not exist yet
    with _database_errors():
        upgrade_schema(engine)
        click.echo(f"schema up to date: {database_url()}")
        if engine.audit_key is None:
            _create_audit_key(engine)
            engine = build_engine()
        _seal(engine, actor)
        if bundle_path is not None:
            outcome = _deploy_or_exit(engine, bundle_path, actor)
            state = "deployed as" if outcome.created else "unchanged, already"
            click.echo(f"{state} version {outcome.version} ({outcome.content_hash[:12]})")
        if demo_users:
            if production():
                _fail(
                    f"--demo-users: refused with {PRODUCTION_SETTING}=production (the password is published)"
                )
            with engine.writer() as session, session.begin():
                created = account_changes.ensure_demo_users(
                    session, actor=_cli_actor(), now=engine.clock.now()
                )
            if created:
                names = ", ".join(created)
                click.echo(f"demo users created: {names} (password {accounts.DEMO_PASSWORD!r})")
            else:
                click.echo("demo users already present")
    if demo_complaints:
        _seed_demo_once(engine, demo_complaints)


def _create_audit_key(engine) -> None:
    """A first key, unless the log was written with one: a lost key is restored, not replaced."""
    with engine.reader() as session:
        keyed = audit.last_event(session) is not None and not audit.ends_unkeyed(session)
    if keyed:
        _fail(
            "the audit log was written with a key, but none is configured: restore it (AUDIT_KEY, "
            f"AUDIT_KEY_FILE or {audit_key_file()}) rather than make a new one"
        )
    path = create_audit_key_file()
    click.echo(f"audit key created: {path} (mode 0600; keep a copy away from this server)")


def _seed_demo_once(engine, count: int) -> None:
    """`make run`: a living system on first start; a database with complaints is left alone."""
    from sqlalchemy import select

    from engine.models import Instance

    with _database_errors(), engine.reader() as session:
        present = session.scalar(select(Instance.id).limit(1)) is not None
    if present:
        click.echo("demo complaints: the database has complaints already, none added")
        return
    _run_demo(count, seed=1, days=7)


@main.command()
@click.option("--complaints", "count", type=int, default=60, show_default=True, help="How many complaints.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same complaints and paths.")
@click.option("--days", type=float, default=7, show_default=True, help="Length of the simulated period.")
def demo(count: int, seed: int, days: float) -> None:
    """Run demo complaints through the real procedure in simulated time ending now (empty database only)."""
    _run_demo(count, seed, days)


def _run_demo(count: int, seed: int, days: float) -> None:
    from datetime import UTC

    from engine.clock import FrozenClock
    from tasks import demo as demo_data

    try:
        demo_data.check_arguments(count, days)
    except demo_data.DemoError as error:
        _fail(str(error))
    end = datetime.now(UTC)
    clock = FrozenClock(end)
    engine = build_engine(clock=clock)
    with _database_errors(), _engine_errors():
        try:
            report = demo_data.run_demo(engine, clock, complaints=count, seed=seed, end=end, days=days)
        except demo_data.DemoError as error:
            _fail(str(error))
        from web import notifications  # the warnings the scheduler would send now (issue 13)

        warned = notifications.sweep(engine, end)
    for line in report.lines():
        click.echo(line)
    click.echo(f"warnings: {warned} clocks about to breach, their notifications unread")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes (default: one per core, at least 2).",
)
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="Threads per worker (default: 4).")
@click.option("--dev", is_flag=True, help="Werkzeug's development server, one process (not for production).")
def serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> None:
    """Serve the web app (gunicorn) with one timer scheduler process beside it."""
    from web import create_app, server

    if production():
        if dev:
            _fail(f"--dev: refused with {PRODUCTION_SETTING}=production (the development server)")
        checked = build_engine()
        with _database_errors():
            refusal = demo_users_refusal(checked)
        checked.writer.kw["bind"].dispose()  # the forked web server must inherit no connection
        if refusal:
            _fail(refusal)
    if dev:
        from werkzeug.serving import run_simple

        with _database_errors():
            app = create_app({"SCHEDULER": True})
        click.echo(f"development server on http://{host}:{port}/ (database {app.config['DATABASE_URL']})")
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
        return
    build_engine()  # a missing audit key stops here, in one line, not in every worker
    options = server.ServerOptions(
        host=host,
        port=port,
        workers=workers or server.default_workers(),
        threads=threads or server.DEFAULT_THREADS,
    )
    click.echo(
        f"serving on http://{host}:{port}/ with {options.workers} workers x {options.threads} threads "
        f"and one scheduler process (database {database_url()})"
    )
    sys.exit(server.serve_node(options))


PRODUCTION_SETTING = "COMPLAINTS_ENV"


def production() -> bool:
    return os.environ.get(PRODUCTION_SETTING, "").strip().lower() == "production"


def demo_users_refusal(engine) -> str | None:
    """Why a production server must not start: active demo accounts, whose password is published."""
    with engine.reader() as session:
        names = accounts.active_demo_users(session)
    if not names:
        return None
    return (
        f"{PRODUCTION_SETTING}=production and demo users are active with the published password: "
        f"{', '.join(names)}. For each, set a real password (`complaints users passwd NAME`) "
        f"or disable it (`complaints users disable NAME`)"
    )


@main.group("users")
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
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        user = account_changes.create_user(
            session,
            actor=_cli_actor(),
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
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        user = account_changes.change_password(
            session, actor=_cli_actor(), now=engine.clock.now(), username=username, password=password
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
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        line = _user_line(
            account_changes.set_active(
                session, actor=_cli_actor(), now=engine.clock.now(), username=username, active=active
            )
        )
    click.echo(f"{'enabled' if active else 'disabled'} {line}")


@users_group.command("role")
@click.argument("username")
@click.argument("roles", nargs=-1)
def users_role(username: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles (none given: no roles): agent, supervisor, process_owner, admin."""
    engine = build_engine()
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        user = account_changes.change_roles(
            session, actor=_cli_actor(), now=engine.clock.now(), username=username, roles=roles
        )
        line = _user_line(user)
    click.echo(f"updated {line}")


@users_group.command("set-groups")
@click.argument("username")
@click.argument("groups", nargs=-1)
def users_set_groups(username: str, groups: tuple[str, ...]) -> None:
    """Replace a user's candidate groups (none given: no groups)."""
    engine = build_engine()
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        user = account_changes.change_groups(
            session, actor=_cli_actor(), now=engine.clock.now(), username=username, groups=groups
        )
        line = _user_line(user)
    click.echo(f"updated {line}")


@users_group.command("list")
def users_list() -> None:
    """List every user with roles and groups."""
    engine = build_engine()
    with _database_errors(), engine.reader() as session:
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
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        issued = account_changes.issue_token(
            session,
            actor=_cli_actor(),
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
    with _database_errors(), _account_errors(), engine.reader() as session:
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
        _fail("give either TOKEN_ID or --all USERNAME")
    engine = build_engine()
    actor, now = _cli_actor(), engine.clock.now()
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
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


def _cli_actor() -> str:
    """Who changes accounts from the command line, in the audit log: ``cli:<OS user>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _when(instant: datetime | None, empty: str = "-") -> str:
    return instant.isoformat(timespec="seconds") if instant else empty


@users_group.command("email")
@click.argument("username")
@click.argument("address", required=False, default="")
def users_email(username: str, address: str) -> None:
    """Send USERNAME's notifications also to ADDRESS by e-mail (no ADDRESS: stop); needs SMTP_HOST."""
    from web import notifications

    engine = build_engine()
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        notifications.set_address(session, username, address or None)
    click.echo(f"{username}: e-mail copies {'to ' + address if address else 'off'}")


@main.group("versions", invoke_without_command=True)
@click.pass_context
def versions_group(context: click.Context) -> None:
    """Deployed versions: list them (default marked *), diff two, choose the default."""
    if context.invoked_subcommand is not None:
        return
    engine = build_engine()
    with _database_errors():
        listed = versions.list_versions(engine)
    for info in listed:
        marker = "*" if info.default else " "
        click.echo(
            f"{marker} v{info.version}  {info.content_hash[:12]}  {info.main_process}  "
            f"deployed {info.deployed_at.isoformat(timespec='seconds')} by {info.deployed_by}"
        )
    if not listed:
        click.echo("nothing is deployed yet: `complaints deploy PATH`")
    else:
        click.echo("* = new instances start on this version (`complaints versions use N` to change)")


@versions_group.command("diff")
@click.argument("from_version", type=int)
@click.argument("to_version", type=int)
def versions_diff(from_version: int, to_version: int) -> None:
    """What changed from version A to version B: elements, forms, config keys."""
    engine = build_engine()
    with _database_errors(), _engine_errors(), engine.reader() as session:
        found = versions.diff_deployed(session, from_version, to_version)
    for line in found.lines():
        click.echo(line)
    if found.empty:
        click.echo(f"v{from_version} and v{to_version} do not differ")


@versions_group.command("use")
@click.argument("version", type=int)
@click.option("--actor", default="admin", show_default=True, help="Who chooses (audit log).")
def versions_use(version: int, actor: str) -> None:
    """Start new instances on VERSION (a rollback); running instances stay where they are."""
    engine = build_engine()
    with _database_errors(), _engine_errors():
        previous = versions.choose_default(engine, version, actor=actor)
    click.echo(f"new instances start on v{version} (was v{previous})")


@main.command("migrate-instances")
@click.option("--from", "from_version", type=int, help="The version instances are on.")
@click.option("--to", "to_version", type=int, help="The version to move them to.")
@click.option("--dry-run", "mode", flag_value="dry-run", default=True, help="Report only (the default).")
@click.option("--apply", "mode", flag_value="apply", help="Move every movable instance (a resumable run).")
@click.option("--revert", "mode", flag_value="revert", help="Move instances moved FROM -> TO back.")
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="SOURCE=TARGET",
    help="Plan row: element SOURCE of --from becomes element TARGET of --to (repeatable).",
)
@click.option("--resume", "resume_run", type=int, help="Carry on with run N that stopped (crash, restart).")
@click.option("--actor", default="admin", show_default=True, help="Who migrates (audit log).")
def migrate_instances(
    from_version: int | None,
    to_version: int | None,
    mode: str,
    mappings: tuple[str, ...],
    resume_run: int | None,
    actor: str,
) -> None:
    """Move running instances between versions; without --apply or --revert only report."""
    from engine import migration_runs

    mapping = {}
    for row in mappings:
        source, equals, target = row.partition("=")
        if not equals or not source.strip() or not target.strip():
            _fail(f"--map {row!r}: expected SOURCE=TARGET (element ids)")
        mapping[source.strip()] = target.strip()
    if resume_run is None and (from_version is None or to_version is None):
        raise click.UsageError("--from and --to are required (or --resume RUN)")
    engine = build_engine()
    with _database_errors(), _engine_errors():
        if resume_run is not None:
            report = migration_runs.run(engine, resume_run)
        elif mode == "apply":
            run_id = migration_runs.start_run(engine, from_version, to_version, actor=actor, mapping=mapping)
            click.echo(f"run {run_id} (resume with --resume {run_id} if interrupted)")
            report = migration_runs.run(engine, run_id)
        elif mode == "revert":
            report = migration_apply.revert(engine, from_version, to_version, actor=actor)
        else:
            report = migration_apply.dry_run(engine, from_version, to_version, mapping=mapping)
    for line in report.lines():
        click.echo(line)


@contextmanager
def _engine_errors():
    try:
        yield
    except EngineError as error:
        _fail(str(error))


def _user_line(user: accounts.User) -> str:
    state = ("" if user.active else "  [inactive]") + ("  [demo]" if user.is_demo else "")
    return (
        f"{user.username}  ({user.display_name})  roles: {', '.join(sorted(user.roles)) or '-'}"
        f"  groups: {', '.join(sorted(user.groups)) or '-'}{state}"
    )


@contextmanager
def _account_errors():
    try:
        yield
    except accounts.AccountError as error:
        _fail(str(error))


@contextmanager
def _database_errors():
    """A database that is unreachable or not migrated yet: one line, not a traceback."""
    try:
        yield
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        _fail(f"database {database_url()}: {cause} (is it reachable? run `complaints migrate`)")


@contextmanager
def _invalid_bundle():
    try:
        yield
    except BundleInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(invalid.problems)} problem(s): nothing was stored")


def _deploy_or_exit(engine, path: Path, actor: str):
    try:
        return engine.deploy(load_bundle(path), actor=actor)
    except BundleError as error:
        _fail(str(error))
    except BundleInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(invalid.problems)} problem(s): nothing was stored")


def _compile_or_exit(engine, path: Path):
    try:
        return engine.validate(load_bundle(path))
    except BundleError as error:
        _fail(str(error))
    except BundleInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        _fail(f"{len(invalid.problems)} problem(s): nothing was stored")


def _calendars(bundle_path: Path | None):
    try:
        if bundle_path is not None:
            return calendars_from_config(bundle_config(load_bundle(bundle_path)))
        engine = build_engine()
        with engine.reader() as session:
            deployment = latest_deployment(session)
            if deployment is None:
                _fail("nothing is deployed yet: pass --bundle PATH")
            return engine.runtime(deployment.id).calendars
    except (BundleError, CalendarConfigError, EngineError) as error:
        _fail(str(error))
    except tomllib.TOMLDecodeError as error:
        _fail(f"procedure.toml: {error}")


def _fail(message: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
