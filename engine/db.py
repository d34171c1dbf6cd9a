"""Database engines and sessions for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from engine import sqlite_writer_lock


class Base(DeclarativeBase):
    pass


def make_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine tuned for this workload: WAL and a busy timeout on SQLite, pre-ping on PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        lock = sqlite_writer_lock.lock_path(url)
        if lock is not None:
            sqlite_writer_lock.install(engine)
        event.listen(engine, "begin", lambda connection: _begin(connection, lock))
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _tune_sqlite(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Instance rows are rewritten on every command: checkpointing the WAL every ~40 MB
    # instead of every 4 MB writes each hot page to the database file once, not ten times.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin(connection, lock: str | None) -> None:
    """Commands take SQLite's write lock at BEGIN, so they read and write one snapshot.

    With a deferred BEGIN a command that reads and then writes fails with
    SQLITE_BUSY_SNAPSHOT when another writer committed in between; IMMEDIATE makes
    writers queue (busy_timeout) instead. Read-only sessions stay deferred so that
    pages never wait for writers. Writers queue on ``lock`` first (engine.sqlite_writer_lock).
    """
    immediate = connection.get_execution_options().get(WRITES, False)
    if immediate and lock is not None:
        sqlite_writer_lock.acquire(connection, lock)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


WRITES = "engine_writes"


def make_session_factories(engine: Engine) -> tuple[sessionmaker, sessionmaker]:
    """(command sessions, read sessions): commands announce that they will write."""
    writer = sessionmaker(engine.execution_options(**{WRITES: True}), expire_on_commit=False)
    reader = sessionmaker(engine, expire_on_commit=False)
    return writer, reader
