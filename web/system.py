"""The composition root: one place that wires database, engine, handlers and clock together.

Both the CLI and the web app build their engine here, so they can never disagree
about which database, which handlers or which audit key are in use.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from engine import schema
from engine.audit_key import AuditKey, AuditKeyError, create_key_file, parse_key, read_key_file
from engine.clock import Clock
from engine.db import make_db_engine, make_session_factories
from engine.service import ProcessEngine
from tasks.records import MIGRATIONS as TASKS_MIGRATIONS
from tasks.registry import REGISTRY
from web import api_tokens, login_limits, notifications, public, task_extras  # noqa: F401  (tables join Base.metadata)

DEFAULT_DATABASE_URL = "sqlite:///instance/complaints.sqlite3"
AUDIT_KEY_NAME = "audit.key"  # beside the SQLite database, or in instance/

# The web layer's Alembic branch (users and their groups); engine.schema runs it
# together with the engine's own migrations.
WEB_MIGRATIONS = Path(__file__).with_name("migrations") / "versions"
# Every layer's Alembic branch above the engine's own.
MIGRATION_FOLDERS = (TASKS_MIGRATIONS, WEB_MIGRATIONS)


def database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def build_engine(
    url: str | None = None, *, clock: Clock | None = None, audit_key_required: bool = True
) -> ProcessEngine:
    """The engine on ``url`` with the configured audit key.

    No key: AuditKeyError, so a server never writes an unkeyed log; commands that never
    write it (validating a bundle, migrating) pass ``audit_key_required=False``.
    """
    url = url or database_url()
    key = configured_audit_key(url)
    if key is None and audit_key_required:
        raise AuditKeyError(
            f"no audit key: {audit_key_file(url)} does not exist and AUDIT_KEY is not set; the audit log "
            "is keyed with a secret kept outside the database: set AUDIT_KEY (hex or base64) or "
            "AUDIT_KEY_FILE, or run `complaints setup` to create the key file"
        )
    _ensure_sqlite_folder(url)
    writer, reader = make_session_factories(make_db_engine(url))
    node = f"{socket.gethostname()}:{os.getpid()}"
    return ProcessEngine(writer, reader, REGISTRY, clock=clock, node=node, audit_key=key)


def audit_key_file(url: str | None = None) -> Path:
    """AUDIT_KEY_FILE, else audit.key beside the SQLite database file, else instance/audit.key."""
    if os.environ.get("AUDIT_KEY_FILE"):
        return Path(os.environ["AUDIT_KEY_FILE"])
    database_file = _sqlite_file(url or database_url())
    return (database_file.parent if database_file else Path("instance")) / AUDIT_KEY_NAME


def configured_audit_key(url: str | None = None) -> AuditKey | None:
    """The key from AUDIT_KEY, else from the key file; None when neither is there."""
    if os.environ.get("AUDIT_KEY"):
        return parse_key(os.environ["AUDIT_KEY"], "AUDIT_KEY")
    path = audit_key_file(url)
    return read_key_file(path) if path.exists() else None


def create_audit_key_file(url: str | None = None) -> Path | None:
    """A new key file (mode 0600) when no key is configured; its path, or None if one is."""
    if os.environ.get("AUDIT_KEY") or audit_key_file(url).exists():
        return None
    path = audit_key_file(url)
    create_key_file(path)
    return path


def _ensure_sqlite_folder(url: str) -> None:
    database_file = _sqlite_file(url)
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        return Path(url[len(prefix) :])
    return None


def upgrade_schema(process_engine: ProcessEngine) -> None:
    """Bring every table (the engine's and the web layer's) to the newest revision."""
    schema.upgrade(process_engine.database, MIGRATION_FOLDERS)
