"""Fixtures of the web tests: the ``complaints`` command run as an admin would."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from web.cli import main


@pytest.fixture
def run(db, database_url):
    """``run("deploy", path)``: the command on the test database, through click's runner."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), env={"DATABASE_URL": database_url})

    return invoke
