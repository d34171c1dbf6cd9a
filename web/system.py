"""The composition root: one place that wires database, engine, handlers and clock together.

Both the CLI and the web app build their engine here, so they can never disagree
about which database or which handlers are in use.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from engine import schema
from engine.clock import Clock
from engine.db import make_db_engine, make_session_factories
from engine.service import ProcessEngine
from tasks.records import MIGRATIONS as TASKS_MIGRATIONS
from tasks.registry import REGISTRY
from web import api_tokens, login_limits, notifications, public, task_extras  # noqa: F401  (tables join Base.metadata)

DEFAULT_DATABASE_URL = "sqlite:///instance/complaints.sqlite3"

# The web layer's Alembic branch (users and their groups); engine.schema runs it
# together with the engine's own migrations.
WEB_MIGRATIONS = Path(__file__).with_name("migrations") / "versions"
# Every layer's Alembic branch above the engine's own.
MIGRATION_FOLDERS = (TASKS_MIGRATIONS, WEB_MIGRATIONS)


def database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def build_engine(url: str | None = None, *, clock: Clock | None = None) -> ProcessEngine:
    url = url or database_url()
    _ensure_sqlite_folder(url)
    writer, reader = make_session_factories(make_db_engine(url))
    node = f"{socket.gethostname()}:{os.getpid()}"
    return ProcessEngine(writer, reader, REGISTRY, clock=clock, node=node)


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def upgrade_schema(process_engine: ProcessEngine) -> None:
    """Bring every table (the engine's and the web layer's) to the newest revision."""
    schema.upgrade(process_engine.writer.kw["bind"], MIGRATION_FOLDERS)
