"""A queue for SQLite's one writer: commands wait on a file lock, not in SQLite's busy handler.

SQLite lets one transaction write at a time; a command that finds the write lock taken
retries in the busy handler, which sleeps 1, 2, 5 ... then 100 ms between tries. With
16 requests waiting, the lock sat free while the waiters slept, and one that had waited
longest kept losing to newcomers polling every millisecond: throughput fell as clients
were added and p99 reached seconds (bench/http.py, issue 16). Taking an exclusive
``flock`` on a file beside the database before ``BEGIN IMMEDIATE`` makes writers wait
in the kernel, which wakes a waiter the instant the lock is released, across threads
and processes (each connection opens the file itself, so threads exclude each other
too; a dead process's lock is dropped by the kernel).

The lock is released when the transaction ends, however it ends (commit, rollback, a
connection returned to the pool, closed or invalidated), so it is never held longer
than SQLite's own write lock. It only orders writers: SQLite's locking still decides
correctness, and a writer that does not take it (another program) meets busy_timeout.
"""

from __future__ import annotations

import fcntl
import os

from sqlalchemy import Engine, event

_HANDLE = "engine_writer_lock"  # in a pooled connection's info: the connection's open lock file


def lock_path(url: str) -> str | None:
    """The lock file of a SQLite database file; None for memory databases and other databases."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    database = url[len(prefix) :].split("?", 1)[0]
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return f"{database}-writer.lock"


def install(engine: Engine) -> None:
    """Release the lock wherever a connection's transaction can end (``acquire`` takes it)."""
    for name in ("commit", "rollback"):
        event.listen(engine, name, _transaction_ended)
    event.listen(engine.pool, "checkin", _checked_in)
    event.listen(engine.pool, "reset", _reset)
    for name in ("invalidate", "soft_invalidate"):
        event.listen(engine.pool, name, _invalidated)
    event.listen(engine.pool, "close", _closed)


def acquire(connection, path: str) -> None:
    """Wait until no other connection of this database writes (call before BEGIN IMMEDIATE)."""
    info = connection.connection.info
    handle = info.get(_HANDLE)
    if handle is None:
        handle = info[_HANDLE] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX)  # the interpreter lock is released while it waits


def _transaction_ended(connection) -> None:
    _unlock(connection.connection.info)


def _checked_in(dbapi_connection, connection_record) -> None:
    if connection_record is not None:
        _unlock(connection_record.info)


def _reset(dbapi_connection, connection_record, reset_state) -> None:
    _checked_in(dbapi_connection, connection_record)


def _invalidated(dbapi_connection, connection_record, exception) -> None:
    _checked_in(dbapi_connection, connection_record)


def _closed(_dbapi_connection, record) -> None:
    if record is not None and (handle := record.info.pop(_HANDLE, None)) is not None:
        os.close(handle)  # closing the file drops its lock too


def _unlock(info) -> None:
    handle = info.get(_HANDLE)
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
