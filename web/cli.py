"""The ``complaints`` command: set up, deploy, validate, compute deadlines, audit, users, serve.

Every command reports problems as plain sentences and exits 1; none shows a traceback
for bad input.
"""

from __future__ import annotations

import sys
import tomllib
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from engine import audit, drafts, migration, versions
from engine.bundle import BundleError, load_bundle
from engine.calendar import CalendarConfigError, calendars_from_config, parse_duration
from engine.deployments import bundle_config, latest_deployment
from engine.errors import EngineError
from engine.validation import BundleInvalid
from web import accounts, api_tokens
from web.system import build_engine, database_url, upgrade_schema


@click.group()
def main() -> None:
    """Run the customer-complaint procedure: see README.md."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    engine = build_engine()
    with _database_errors():
        upgrade_schema(engine)
    click.echo(f"schema up to date: {database_url()}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
def validate(path: Path) -> None:
    """Check a bundle (folder or zip) without storing anything: exit 0 valid, 1 invalid."""
    engine = build_engine()
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
def audit_verify() -> None:
    """Recompute the hash chain: exit 0 intact, 1 with every break listed."""
    engine = build_engine()
    with engine.reader() as session:
        breaks = audit.verify(session)
    if breaks:
        for found in breaks:
            click.echo(f"BROKEN {found}", err=True)
        sys.exit(1)
    click.echo("audit log intact")


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
    """Migrate the schema, deploy a bundle, create demo users; running it again changes nothing."""
    engine = build_engine()
    with _database_errors():
        upgrade_schema(engine)
        click.echo(f"schema up to date: {database_url()}")
        if bundle_path is not None:
            outcome = _deploy_or_exit(engine, bundle_path, actor)
            state = "deployed as" if outcome.created else "unchanged, already"
            click.echo(f"{state} version {outcome.version} ({outcome.content_hash[:12]})")
        if demo_users:
            with engine.writer() as session, session.begin():
                created = accounts.ensure_demo_users(session, now=engine.clock.now())
            if created:
                names = ", ".join(created)
                click.echo(f"demo users created: {names} (password {accounts.DEMO_PASSWORD!r})")
            else:
                click.echo("demo users already present")
    if demo_complaints:
        _seed_demo_once(engine, demo_complaints)


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
    for line in report.lines():
        click.echo(line)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Serve the web app with the timer scheduler on (one process; gunicorn for more)."""
    from werkzeug.serving import run_simple

    from web import create_app

    with _database_errors():
        app = create_app({"SCHEDULER": True})
    click.echo(f"serving on http://{host}:{port}/ (database {app.config['DATABASE_URL']})")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@main.group("users")
def users_group() -> None:
    """User accounts: who may log in, their candidate groups and roles."""


@users_group.command("create")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help=f"At least {accounts.MIN_PASSWORD} characters; asked for when not given.",
)
@click.option("--display-name", default=None, help="Shown in the app (default: the username).")
@click.option("--group", "groups", multiple=True, help="A candidate group (repeatable).")
@click.option("--role", "roles", multiple=True, help=f"One of {', '.join(accounts.ROLES)} (repeatable).")
def users_create(
    username: str,
    password: str,
    display_name: str | None,
    groups: tuple[str, ...],
    roles: tuple[str, ...],
) -> None:
    """Create a user."""
    engine = build_engine()
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        user = accounts.create_user(
            session, username, password, display_name, groups, roles, now=engine.clock.now()
        )
        line = _user_line(user)
    click.echo(f"created {line}")


@users_group.command("set-groups")
@click.argument("username")
@click.argument("groups", nargs=-1)
def users_set_groups(username: str, groups: tuple[str, ...]) -> None:
    """Replace a user's candidate groups (none given: no groups)."""
    engine = build_engine()
    with _database_errors(), _account_errors(), engine.writer() as session, session.begin():
        line = _user_line(accounts.set_groups(session, username, groups))
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
def users_token(username: str, label: str) -> None:
    """Issue an API token acting as USERNAME (shown once; only its hash is kept)."""
    engine = build_engine()
    with _database_errors(), engine.writer() as session, session.begin():
        try:
            token = api_tokens.issue_token(session, username, label, now=engine.clock.now())
        except ValueError as error:
            _fail(str(error))
    click.echo(token)


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
            report = migration.revert(engine, from_version, to_version, actor=actor)
        else:
            report = migration.dry_run(engine, from_version, to_version, mapping=mapping)
    for line in report.lines():
        click.echo(line)


@contextmanager
def _engine_errors():
    try:
        yield
    except EngineError as error:
        _fail(str(error))


def _user_line(user: accounts.User) -> str:
    state = "" if user.active else "  [inactive]"
    return (
        f"{user.username}  ({user.display_name})  roles: {', '.join(user.roles) or '-'}"
        f"  groups: {', '.join(user.groups) or '-'}{state}"
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
