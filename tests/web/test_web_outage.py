"""The database goes away: 503 with Retry-After and a translated page, two log lines, then recovery.

The outage is real: the SQLite file the app points at is replaced by a folder (what
SQLite sees when a volume is not mounted), and put back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from engine.bundle import load_bundle
from tests.web.support import BPMN
from web import create_app
from web.system import build_engine, upgrade_schema

REQUESTS = 12


@pytest.fixture
def database_file(tmp_path) -> Path:
    """A migrated database with the procedure deployed, on its own file."""
    path = tmp_path / "node.sqlite3"
    engine = build_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    engine.deploy(load_bundle(BPMN), actor="owner")
    engine.writer.kw["bind"].dispose()
    return path


@pytest.fixture
def unmounted(database_file):
    """Take the database away (the file becomes a folder); ``restore()`` brings it back."""
    away = database_file.with_name("away.sqlite3")
    database_file.rename(away)
    database_file.mkdir()

    def restore() -> None:
        database_file.rmdir()
        away.rename(database_file)

    return restore


@pytest.fixture
def outage_app(database_file, unmounted):
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{database_file}",
            "TESTING": True,
            "SECRET_KEY": "test",
            "SCHEDULER": False,
        }
    )
    yield app
    app.extensions["process_engine"].writer.kw["bind"].dispose()


def outage_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if "database" in record.getMessage()]


def test_pages_answer_503_with_retry_after_and_a_translated_page(outage_app):
    client = outage_app.test_client()
    response = client.get("/complain", headers={"Accept-Language": "zh"})
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "数据库暂时无法使用" in page and "Traceback" not in page

    english = client.get("/complain", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The database is not available at the moment" in english


def test_the_api_answers_503_in_json(outage_app):
    token = {"Authorization": "Bearer cpt_" + "x" * 43}  # well formed: it must be looked up
    response = outage_app.test_client().get("/api/v1/tasks", headers=token)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "database" in response.json["error"]


def test_readiness_fails_while_liveness_still_answers(outage_app):
    client = outage_app.test_client()
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.headers["Retry-After"].isdigit()
    alive = client.get("/health")
    assert alive.status_code == 200
    assert alive.json["database"] == "error"


def test_one_log_line_when_the_outage_begins_and_one_when_it_ends(outage_app, unmounted, caplog):
    client = outage_app.test_client()
    with caplog.at_level(logging.INFO):
        for _ in range(REQUESTS):
            assert client.get("/complain").status_code == 503
            assert client.get("/health/ready").status_code == 503
        [began] = outage_records(caplog)
        assert began.levelno == logging.ERROR and began.exc_info is None  # a line, not a traceback
        assert "database unavailable" in began.getMessage()
        assert "unable to open database file" in began.getMessage()

        unmounted()
        assert client.get("/complain").status_code == 200
        assert client.get("/complain").status_code == 200
        began_again, ended = outage_records(caplog)
    assert began_again is began
    assert "database available again" in ended.getMessage()
    assert f"{2 * REQUESTS} failed attempts" in ended.getMessage()
    assert client.get("/health/ready").status_code == 200


def test_a_broken_query_is_still_a_500_not_an_outage(make_app, tmp_path):
    """An error in our SQL is a bug to see (500), not a database to wait for."""
    from sqlalchemy.exc import IntegrityError

    app = make_app()

    @app.get("/boom")
    def boom():
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    app.view_functions["boom"]._public = True
    app.config["TESTING"] = False  # let the app answer the error instead of raising it to the test
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
