"""A database outage, logged once when it begins and once when it ends.

While the database is away every request and every scheduler pass fails the same way;
a traceback each time buries the one fact an operator needs (since when, and why) under
hundreds of copies. :class:`OutageLog` turns that stream into two lines.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# Errors that mean "the database cannot be reached or used right now", as opposed to a
# query that is wrong (IntegrityError, ProgrammingError): those stay bugs with tracebacks.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError)


def is_unavailable(error: BaseException) -> bool:
    return isinstance(error, UNAVAILABLE)


def first_line(error: SQLAlchemyError | BaseException) -> str:
    """The driver's message without SQLAlchemy's SQL echo and background link."""
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


class OutageLog:
    """Tracks whether the database is down for one part of a process (requests, the scheduler)."""

    def __init__(self, logger: logging.Logger, part: str) -> None:
        self._logger = logger
        self._part = part
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException) -> None:
        """One more failure: logged only if it starts an outage."""
        with self._lock:
            self._failures += 1
            if self._since is not None:
                return
            self._since = time.monotonic()
        self._logger.error("database unavailable (%s): %s", self._part, first_line(error))

    def recovered(self) -> None:
        """The database answered: logged only if it ends an outage."""
        with self._lock:
            if self._since is None:
                return
            lasted, failures = time.monotonic() - self._since, self._failures
            self._since, self._failures = None, 0
        self._logger.warning(
            "database available again (%s) after %.1f s and %d failed attempts", self._part, lasted, failures
        )
