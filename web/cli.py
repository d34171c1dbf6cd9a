"""The ``complaints`` command: set up, deploy, validate, compute deadlines, demo, serve.

Its groups live beside it: ``web.cli_audit``, ``web.cli_users``, ``web.cli_versions``;
``web.cli_common`` holds what they share.

Every command reports problems as plain sentences and exits 1; none shows a traceback
for bad input.
"""

from __future__ import annotations

import os
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import click

from engine import audit, drafts
from engine.audit_key import AuditKeyError
from engine.bundle import BundleError, load_bundle
from engine.calendar import CalendarConfigError, calendars_from_config, parse_duration
from engine.deployments import bundle_config, latest_deployment
from engine.errors import EngineError
from web import account_changes, accounts, cli_audit, cli_users, cli_versions
from web.cli_audit import seal_unkeyed
from web.cli_common import (
    bundle_errors,
    cli_actor,
    compile_or_exit,
    database_errors,
    deploy_or_exit,
    engine_errors,
    fail,
)
from web.system import audit_key_file, build_engine, create_audit_key_file, database_url, upgrade_schema


class _Commands(click.Group):
    """A missing or unreadable audit key stops any command with one line, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AuditKeyError as error:
            fail(str(error))


@click.group(cls=_Commands)
def main() -> None:
    """Run the customer-complaint procedure: see README.md."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    engine = build_engine(audit_key_required=False)
    with database_errors():
        upgrade_schema(engine)
    click.echo(f"schema up to date: {database_url()}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
def validate(path: Path) -> None:
    """Check a bundle (folder or zip) without storing anything: exit 0 valid, 1 invalid."""
    engine = build_engine(audit_key_required=False)
    compiled = compile_or_exit(engine, path)
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
        fail("give either PATH or --draft ID")
    if draft_id is not None:
        with database_errors(), engine_errors(), bundle_errors():
            outcome = drafts.deploy_draft(engine, draft_id, actor=actor)
    else:
        outcome = deploy_or_exit(engine, path, actor)
    state = "deployed as" if outcome.created else "unchanged, already"
    click.echo(f"{state} version {outcome.version} ({outcome.content_hash[:12]})")


@main.command("drafts")
def drafts_list() -> None:
    """Drafts made in the modeler: id, status, base version, problems, title."""
    engine = build_engine()
    with database_errors():
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
        fail(f"--calendar: no calendar named {calendar_name!r} (known: {known})")
    try:
        instant = datetime.fromisoformat(start)
    except ValueError:
        fail(f"--from: {start!r} is not an ISO 8601 instant, e.g. 2026-11-27T11:00:00+08:00")
    if instant.tzinfo is None:
        fail(f"--from: {start!r} has no offset; add one, e.g. +08:00")
    try:
        amount = parse_duration(duration)
    except ValueError as error:
        fail(f"--add: {error}")
    click.echo(calendars[calendar_name].add(instant, amount).isoformat())


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
    with database_errors():
        upgrade_schema(engine)
        click.echo(f"schema up to date: {database_url()}")
        if engine.audit_key is None:
            _create_audit_key(engine)
            engine = build_engine()
        seal_unkeyed(engine, actor)
        if bundle_path is not None:
            outcome = deploy_or_exit(engine, bundle_path, actor)
            state = "deployed as" if outcome.created else "unchanged, already"
            click.echo(f"{state} version {outcome.version} ({outcome.content_hash[:12]})")
        if demo_users:
            if production():
                fail(
                    f"--demo-users: refused with {PRODUCTION_SETTING}=production (the password is published)"
                )
            with engine.writer() as session, session.begin():
                created = account_changes.ensure_demo_users(
                    session, actor=cli_actor(), now=engine.clock.now()
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
        fail(
            "the audit log was written with a key, but none is configured: restore it (AUDIT_KEY, "
            f"AUDIT_KEY_FILE or {audit_key_file()}) rather than make a new one"
        )
    path = create_audit_key_file()
    click.echo(f"audit key created: {path} (mode 0600; keep a copy away from this server)")


def _seed_demo_once(engine, count: int) -> None:
    """`make run`: a living system on first start; a database with complaints is left alone."""
    from sqlalchemy import select

    from engine.models import Instance

    with database_errors(), engine.reader() as session:
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
        fail(str(error))
    end = datetime.now(UTC)
    clock = FrozenClock(end)
    engine = build_engine(clock=clock)
    with database_errors(), engine_errors():
        try:
            report = demo_data.run_demo(engine, clock, complaints=count, seed=seed, end=end, days=days)
        except demo_data.DemoError as error:
            fail(str(error))
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
            fail(f"--dev: refused with {PRODUCTION_SETTING}=production (the development server)")
        checked = build_engine()
        with database_errors():
            refusal = demo_users_refusal(checked)
        checked.database.dispose()  # the forked web server must inherit no connection
        if refusal:
            fail(refusal)
    if dev:
        from werkzeug.serving import run_simple

        with database_errors():
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


def _calendars(bundle_path: Path | None):
    try:
        if bundle_path is not None:
            return calendars_from_config(bundle_config(load_bundle(bundle_path)))
        engine = build_engine()
        with engine.reader() as session:
            deployment = latest_deployment(session)
            if deployment is None:
                fail("nothing is deployed yet: pass --bundle PATH")
            return engine.runtime(deployment.id).calendars
    except (BundleError, CalendarConfigError, EngineError) as error:
        fail(str(error))
    except tomllib.TOMLDecodeError as error:
        fail(f"procedure.toml: {error}")


for group in (cli_audit.audit_group, cli_users.users_group, cli_versions.versions_group):
    main.add_command(group)
main.add_command(cli_versions.migrate_instances)
