"""The ``complaints`` command: set up, deploy, validate, compute deadlines, verify the audit log, serve.

Every command reports problems as plain sentences and exits 1; none shows a traceback
for bad input.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from engine import audit, schema
from engine.bundle import BundleError, load_bundle
from engine.calendar import CalendarConfigError, parse_duration
from engine.deployments import latest_deployment
from engine.errors import EngineError
from engine.validation import BundleInvalid
from web.system import build_engine, database_url


@click.group()
def main() -> None:
    """Run the customer-complaint procedure: see README.md."""


@main.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    engine = build_engine()
    schema.upgrade(engine.writer.kw["bind"])
    click.echo(f"schema up to date: {database_url()}")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
def validate(path: Path) -> None:
    """Check a bundle (folder or zip) without storing anything: exit 0 valid, 1 invalid."""
    engine = build_engine()
    compiled = _compile_or_exit(engine, path)
    click.echo(f"valid: {path} ({len(compiled.specs)} processes, {len(compiled.forms)} forms)")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--actor", default="admin", show_default=True, help="Who deploys (audit log).")
def deploy(path: Path, actor: str) -> None:
    """Validate a bundle and store it as a new version (unchanged content: no new version)."""
    engine = build_engine()
    _compile_or_exit(engine, path)
    outcome = engine.deploy(load_bundle(path), actor=actor)
    state = "deployed as" if outcome.created else "unchanged, already"
    click.echo(f"{state} version {outcome.version} ({outcome.content_hash[:12]})")


@main.command()
@click.option("--bundle", "bundle_path", type=click.Path(path_type=Path), default=None,
              help="Read calendars from this bundle instead of the newest deployed version.")
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
            return build_engine().validate(load_bundle(bundle_path)).calendars
        engine = build_engine()
        with engine.reader() as session:
            deployment = latest_deployment(session)
            if deployment is None:
                _fail("nothing is deployed yet: pass --bundle PATH")
            return engine.runtime(session, deployment.id).calendars
    except (BundleError, CalendarConfigError, EngineError) as error:
        _fail(str(error))
    except BundleInvalid as invalid:
        _fail("; ".join(str(problem) for problem in invalid.problems))


def _fail(message: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)

