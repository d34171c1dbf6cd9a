"""SQLite writers queue on a file lock (engine.sqlite_writer_lock), held while a write transaction runs.

Issue 16: writers polling in SQLite's busy handler left the write lock idle and starved
the longest waiter. These tests prove the queue is taken by writers only and always let
go, whichever way the transaction ends, so it can never hold up the next writer.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from engine.db import make_db_engine, make_session_factories
from engine.sqlite_writer_lock import lock_path


@pytest.fixture
def sqlite_file(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'writers.sqlite3'}"
    db = make_db_engine(url)
    with db.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    db.dispose()
    yield url


def held(path: str) -> bool:
    """Whether some connection holds the writer lock (asked on a file of our own)."""
    handle = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False


def test_lock_file_only_for_sqlite_files():
    assert lock_path("sqlite:////data/c.sqlite3") == "/data/c.sqlite3-writer.lock"
    assert lock_path("sqlite:///:memory:") is None
    assert lock_path("sqlite://") is None
    assert lock_path("postgresql+psycopg://u@h/db") is None


def test_a_write_transaction_holds_the_lock_until_commit(sqlite_file):
    writer, reader = make_session_factories(make_db_engine(sqlite_file))
    path = lock_path(sqlite_file)
    with writer() as session, session.begin():
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert held(path)
    assert not held(path)
    with reader() as session:  # readers never queue behind writers
        assert session.scalar(text("SELECT count(*) FROM t")) == 1
        assert not held(path)


def test_the_lock_is_let_go_on_rollback_and_on_failure(sqlite_file):
    db = make_db_engine(sqlite_file)
    writer, _ = make_session_factories(db)
    path = lock_path(sqlite_file)
    bind = writer.kw["bind"]
    with bind.connect() as connection:
        transaction = connection.begin()
        assert held(path)
        transaction.rollback()
        assert not held(path)
    with pytest.raises(ZeroDivisionError), bind.connect() as connection, connection.begin():
        connection.execute(text("INSERT INTO t VALUES (2)"))
        assert held(path)
        raise ZeroDivisionError
    assert not held(path)
    with bind.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    db.dispose()
