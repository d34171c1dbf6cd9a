"""Plain SQL on a command's connection, sent to the driver's own cursor.

A command runs a few dozen small statements. Through SQLAlchemy's Core or ORM each
costs ~0.1-0.3 ms of Python (building the statement, its cache key, compiling, result
processing), ten to twenty times what SQLite itself spends; sent to the driver as plain
SQL they cost ~0.02-0.05 ms. So the command path (``engine.store``) and the projections
the domain runs inside a command use this, on the command's connection: one
transaction, committed or rolled back whole. Pages, reports and deploys use the ORM
models, which describe the same tables (``engine.models.UTCDateTime`` the same storage
of instants, which :meth:`DriverSql.instant` and :func:`read_instant` follow).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection


class DriverSql:
    """Statements written with ``:name`` parameters, run on the connection's driver cursor."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        # Even SQLAlchemy's exec_driver_sql adds ~40 us of bookkeeping per statement.
        self._cursor = connection.connection.dbapi_connection.cursor()

    def run(self, sql: str, **params: Any):
        """Execute one statement; returns the cursor (``rowcount``, ``fetchone``...)."""
        self._cursor.execute(for_driver(sql, self.postgres), params)
        return self._cursor

    def one(self, sql: str, **params: Any):
        return self.run(sql, **params).fetchone()

    def all(self, sql: str, **params: Any) -> list[Any]:
        return self.run(sql, **params).fetchall()

    def many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """The same statement for each parameter mapping of ``rows`` (one driver call)."""
        self._cursor.executemany(for_driver(sql, self.postgres), list(rows))

    def instant(self, value: datetime | None) -> Any:
        """Bind an aware instant as engine.models.UTCDateTime stores it."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give an explicit offset")
        utc = value.astimezone(UTC)
        return utc if self.postgres else utc.strftime("%Y-%m-%d %H:%M:%S.%f")


def read_instant(value: Any) -> datetime | None:
    """An instant as the driver returns a UTCDateTime column: aware UTC (SQLite keeps text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


@cache
def for_driver(sql: str, postgres: bool) -> str:
    """Statements are written with ``:name`` (sqlite3's style); psycopg wants ``%(name)s``."""
    return _NAMED.sub(r"%(\1)s", sql) if postgres else sql
