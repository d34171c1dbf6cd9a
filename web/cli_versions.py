"""``complaints versions`` and ``complaints migrate-instances``: deployed versions, and moving
running instances between them."""

from __future__ import annotations

import click

from engine import migration_apply, versions
from web.cli_common import database_errors, engine_errors, fail
from web.system import build_engine


@click.group("versions", invoke_without_command=True)
@click.pass_context
def versions_group(context: click.Context) -> None:
    """Deployed versions: list them (default marked *), diff two, choose the default."""
    if context.invoked_subcommand is not None:
        return
    engine = build_engine()
    with database_errors():
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
    with database_errors(), engine_errors(), engine.reader() as session:
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
    with database_errors(), engine_errors():
        previous = versions.choose_default(engine, version, actor=actor)
    click.echo(f"new instances start on v{version} (was v{previous})")


@click.command("migrate-instances")
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
            fail(f"--map {row!r}: expected SOURCE=TARGET (element ids)")
        mapping[source.strip()] = target.strip()
    if resume_run is None and (from_version is None or to_version is None):
        raise click.UsageError("--from and --to are required (or --resume RUN)")
    engine = build_engine()
    with database_errors(), engine_errors():
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
