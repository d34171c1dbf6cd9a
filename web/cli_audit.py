"""``complaints audit``: verify, checkpoint, anchor and seal the tamper-evident audit log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from engine import audit, audit_checkpoint
from web.cli_common import database_errors, fail
from web.system import build_engine


@click.group("audit")
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
    with database_errors(), engine.reader() as session:
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
    with database_errors():
        engine.anchor_audit_chains(every=timedelta(0))
    with database_errors(), engine.reader() as session:
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
        fail(f"--out: {out}: {error.strerror}")
    click.echo(f"checkpoint of event {made.event_id} ({made.events} events) in {out}: keep it elsewhere")


@audit_group.command("anchor")
def audit_anchor() -> None:
    """Record the tips of the instance chains grown since the last anchor in the global chain now.

    Running nodes do it once a minute; this is for a quiet system or before a backup.
    """
    engine = build_engine()
    with database_errors():
        anchored = engine.anchor_audit_chains(every=timedelta(0))
    click.echo(f"audit log: {anchored} instance chain(s) anchored")


@audit_group.command("seal")
@click.option("--actor", default="admin", show_default=True, help="Who seals (audit log).")
def audit_seal(actor: str) -> None:
    """Key a log begun before the audit key existed: one keyed event covering the unkeyed ones."""
    engine = build_engine()
    with database_errors():
        if not seal_unkeyed(engine, actor):
            click.echo("audit log: nothing unkeyed to seal")


def seal_unkeyed(engine, actor: str) -> bool:
    with engine.writer() as session, session.begin():
        sealed = audit.seal(session, at=engine.clock.now(), actor=actor)
    if sealed is not None:
        click.echo(f"audit log: events 1-{sealed.seq - 1} (unkeyed) sealed by keyed event {sealed.seq}")
    return sealed is not None


def _read_checkpoint(path: Path) -> audit_checkpoint.Checkpoint:
    try:
        return audit_checkpoint.from_json(path.read_text(encoding="utf-8"))
    except OSError as error:
        fail(f"--checkpoint {path}: {error.strerror}")
    except (UnicodeDecodeError, audit_checkpoint.CheckpointError) as error:
        fail(f"--checkpoint {path}: {error}")


def _exit_on_breaks(breaks: list[audit.Break], consequence: str = "") -> None:
    if not breaks:
        return
    for found in breaks:
        click.echo(f"BROKEN {found}", err=True)
    fail(f"{len(breaks)} break(s) in the audit log" + (f": {consequence}" if consequence else ""))
