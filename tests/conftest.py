"""Shared fixtures: one real database per run (SQLite file, or PostgreSQL via DATABASE_URL).

The schema is built once by the real Alembic migrations; every test starts from
empty tables. ``make test`` runs the suite once per database.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, text

from engine import audit_key, schema
from engine.clock import FrozenClock
from engine.db import Base, make_db_engine, make_session_factories
from engine.handlers import HandlerRegistry
from engine.service import ProcessEngine
from web.system import MIGRATION_FOLDERS

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The audit chain's key in every test: engines built here, the app and the command find it.
TEST_AUDIT_KEY = audit_key.AuditKey(bytes(range(32)))


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session", autouse=True)
def audit_key_in_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIT_KEY", audit_key.key_text(TEST_AUDIT_KEY))
        patch.delenv("AUDIT_KEY_FILE", raising=False)
        yield


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_db_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    schema.upgrade(engine, MIGRATION_FOLDERS)
    yield engine
    engine.dispose()


@pytest.fixture
def db(db_engine: Engine) -> Iterator[Engine]:
    """An empty database (schema intact) for each test; its connections carry the audit key."""
    _empty_tables(db_engine)
    yield audit_key.bind(db_engine, TEST_AUDIT_KEY)


def _empty_tables(engine: Engine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(
            text("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, :genesis)"),
            {"genesis": "0" * 64},
        )


@pytest.fixture
def clock() -> FrozenClock:
    """Friday 2026-11-27 09:00 in Shanghai; tests move it explicitly, never by sleeping."""
    return FrozenClock(datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture
def make_engine(db: Engine, clock: FrozenClock) -> Callable[..., ProcessEngine]:
    def build(handlers: HandlerRegistry | None = None, **options) -> ProcessEngine:
        writer, reader = make_session_factories(db)
        options.setdefault("clock", clock)
        options.setdefault("audit_key", TEST_AUDIT_KEY)
        return ProcessEngine(writer, reader, handlers or HandlerRegistry(), **options)

    return build


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get("DATABASE_URL", "")
    return f"database: {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}"
