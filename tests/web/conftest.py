"""Fixtures of the web tests: the ``complaints`` command run as an admin would."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from web import create_app
from web.cli import main


@pytest.fixture
def run(db, database_url):
    """``run("deploy", path)``: the command on the test database, through click's runner.

    ``input=`` is what the user types (prompts) or pipes in (``--password-stdin``).
    """
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, env={"DATABASE_URL": database_url})

    return invoke


@pytest.fixture
def make_app(db, database_url):
    apps = []

    def build(**extra):
        settings = {
            "DATABASE_URL": database_url,
            "TESTING": True,
            "SCHEDULER": False,
            "SECRET_KEY": "test",
            **extra,
        }
        app = create_app(settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        scheduler = app.extensions.pop("node_scheduler", None)
        if scheduler is not None:
            scheduler.shutdown()
        app.extensions["process_engine"].writer.kw["bind"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


STAFF = (  # the people of the procedure tests (password "password-1")
    ("ivy", ["intake"], ["agent"]),
    ("dora", ["cs_center"], ["agent"]),
    ("ned", ["dept:network"], ["agent"]),
    ("sue", ["supervisor"], ["supervisor"]),
)


@pytest.fixture
def procedure_app(make_app, clock):
    """The app with the real procedure (bpmn/) deployed and one person per main group."""
    from engine.bundle import load_bundle
    from tests.web.support import BPMN
    from web import accounts

    app = make_app(CLOCK=clock)
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(BPMN), actor="owner")
    with engine.writer() as session, session.begin():
        for username, groups, roles in STAFF:
            accounts.create_user(session, username, "password-1", username.title(), groups, roles)
    return app
