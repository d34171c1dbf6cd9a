"""What every ``complaints`` command shares: one-line failures, the CLI actor, bundle errors.

Bad input, an unreachable database or an invalid bundle ends a command with plain
sentences on standard error and exit status 1, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from engine.bundle import BundleError, load_bundle
from engine.errors import EngineError
from engine.validation import BundleInvalid
from web import accounts
from web.system import database_url


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)

def cli_actor() -> str:
    """Who changes accounts from the command line, in the audit log: ``cli:<OS user>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def engine_errors() -> Iterator[None]:
    try:
        yield
    except EngineError as error:
        fail(str(error))


@contextmanager
def account_errors() -> Iterator[None]:
    try:
        yield
    except accounts.AccountError as error:
        fail(str(error))


@contextmanager
def database_errors() -> Iterator[None]:
    """A database that is unreachable or not migrated yet: one line, not a traceback."""
    try:
        yield
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(f"database {database_url()}: {cause} (is it reachable? run `complaints migrate`)")


@contextmanager
def bundle_errors() -> Iterator[None]:
    """A bundle that cannot be read, or is invalid: every problem on its own line, nothing stored."""
    try:
        yield
    except BundleError as error:
        fail(str(error))
    except BundleInvalid as invalid:
        for problem in invalid.problems:
            click.echo(str(problem), err=True)
        fail(f"{len(invalid.problems)} problem(s): nothing was stored")


def deploy_or_exit(engine, path: Path, actor: str):
    with bundle_errors():
        return engine.deploy(load_bundle(path), actor=actor)


def compile_or_exit(engine, path: Path):
    with bundle_errors():
        return engine.validate(load_bundle(path))
