"""The outbox: a command's follow-ups, written in its transaction and delivered after its commit.

A command that must cause something outside its own transaction (a message to another
instance, an e-mail) cannot do it inside: the other instance has its own lock and
transaction, and a mail server cannot roll back. Doing it after the commit in a separate
step loses it when the process dies in between. So the command writes an ``outbox`` row
(:func:`add`) on its own connection: the row commits with the command or not at all.

After the commit the engine delivers the rows its command wrote (:meth:`Outbox.deliver`);
whatever is left (the process died, a delivery failed) is delivered at start-up and by
the scheduler's periodic job (:meth:`Outbox.deliver_pending`). A delivery is a function
the layers register per ``kind`` (``HandlerRegistry.delivery``): the engine knows no kind.

**Each row is delivered once.** A deliverer first *claims* the row with a conditional
``UPDATE`` (pending, and no live claim) under a fresh token, so of two web processes and
the scheduler racing for a row exactly one wins, on SQLite and PostgreSQL alike. A
delivery whose effect is a database write (an engine command) marks the row delivered in
that write's own transaction (:meth:`OutboxItem.mark_in`): the effect and the mark commit
together, so a crash anywhere leaves either both or neither, never a double delivery.
Other deliveries are marked right after they return (at least once, for effects outside
the database). A claim lasts ``LEASE``: a deliverer that died is replaced after it.

**Retried until done.** A failing delivery is retried after ``backoff(attempts)``
(5 s doubling up to an hour); :class:`Undeliverable` ends a row as ``failed`` with its
reason (the effect can never happen, e.g. the target instance has ended).
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Index, Integer, String, Text, insert, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.errors import EngineError
from engine.models import UTCDateTime

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class OutboxRow(Base):
    """One follow-up of a committed command, until it is delivered (or can never be)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available_at", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    payload_json: Mapped[str] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    claim_token: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Undeliverable(EngineError):
    """Raised by a delivery whose effect can never happen: the row ends ``failed``, not retried."""


class ClaimLost(EngineError):
    """The row is no longer this deliverer's (its lease ran out and another took it)."""


# The ids of the rows the running command wrote, delivered once it has committed.
_written: ContextVar[list[int] | None] = ContextVar("engine_outbox_written", default=None)


def add(
    connection: Connection,
    kind: str,
    payload: Mapping[str, Any],
    *,
    now: datetime,
    instance_id: int | None = None,
) -> int:
    """Write a follow-up on the command's connection: it commits with the command or not at all."""
    if not kind:
        raise ValueError("an outbox row needs a kind")
    row_id = connection.execute(
        insert(OutboxRow)
        .values(
            kind=kind,
            payload_json=json.dumps(dict(payload), sort_keys=True, default=str),
            instance_id=instance_id,
            created_at=now,
            status=PENDING,
            available_at=now,
            attempts=0,
        )
        .returning(OutboxRow.id)
    ).scalar_one()
    written = _written.get()
    if written is not None:
        written.append(row_id)
    return row_id


@contextlib.contextmanager
def collecting() -> Iterator[list[int]]:
    """Collect the ids :func:`add` writes while a command runs (to deliver them after its commit)."""
    ids: list[int] = []
    token = _written.set(ids)
    try:
        yield ids
    finally:
        _written.reset(token)


def backoff(attempts: int) -> timedelta:
    """How long to wait before the next try after ``attempts`` failed ones."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


@dataclass(frozen=True)
class OutboxItem:
    """What a delivery function gets: the row's kind and payload, and how to mark it delivered."""

    id: int
    kind: str
    payload: Mapping[str, Any]
    instance_id: int | None
    attempts: int
    engine: Any
    """The ``engine.service.ProcessEngine`` delivering it (to run a command with)."""
    token: str

    def mark_in(self, connection: Connection) -> None:
        """Mark this row delivered in the caller's transaction (e.g. a command's ``record`` hook),
        so the delivery's effect and the mark commit together."""
        mark_delivered(connection, self.id, self.token, now=self.engine.clock.now())


Delivery = Callable[[OutboxItem], None]


def mark_delivered(connection: Connection, row_id: int, token: str, *, now: datetime) -> None:
    done = connection.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.claim_token == token, OutboxRow.status == PENDING)
        .values(status=DELIVERED, delivered_at=now, claim_token=None, claimed_until=None)
    )
    if done.rowcount != 1:
        raise ClaimLost(f"outbox row {row_id} is no longer claimed by this deliverer")


class Outbox:
    """Delivers an engine's outbox rows through the delivery functions the layers registered."""

    def __init__(self, engine: Any, deliveries: Mapping[str, Delivery]) -> None:
        self._engine = engine
        self._deliveries = dict(deliveries)
        self._db = engine.writer.kw["bind"]

    def register(self, kind: str, delivery: Delivery) -> None:
        """How this engine delivers ``kind`` (a layer above the domain registry, e.g. web's
        e-mail, whose delivery holds the node's settings); registering again replaces it."""
        self._deliveries[kind] = delivery

    def after_commit(self, ids: list[int]) -> None:
        """A command committed having written ``ids``: deliver them now. A failure stays pending
        for the periodic job; the command's caller never sees it."""
        if ids:
            self.deliver(ids)

    def deliver_pending(self, *, limit: int = 100) -> int:
        """Deliver the rows that are due (start-up and the periodic job); returns how many were."""
        now = self._engine.clock.now()
        with self._db.connect() as connection:
            ids = list(
                connection.scalars(
                    select(OutboxRow.id)
                    .where(
                        OutboxRow.status == PENDING,
                        OutboxRow.available_at <= now,
                        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until <= now),
                    )
                    .order_by(OutboxRow.id)
                    .limit(limit)
                )
            )
        return self.deliver(ids)

    def deliver(self, ids: list[int]) -> int:
        """Claim and deliver each of ``ids`` that is still pending; returns how many were delivered."""
        delivered = 0
        for row_id in ids:
            item = self._claim(row_id)
            if item is not None and self._deliver_one(item):
                delivered += 1
        return delivered

    def _claim(self, row_id: int) -> OutboxItem | None:
        now = self._engine.clock.now()
        token = secrets.token_hex(16)
        with self._db.connect() as connection, connection.begin():
            claimed = connection.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == row_id,
                    OutboxRow.status == PENDING,
                    OutboxRow.available_at <= now,
                    or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until <= now),
                )
                .values(claim_token=token, claimed_until=now + LEASE)
            )
            if claimed.rowcount != 1:
                return None  # delivered, failed, not due yet, or another deliverer holds it
            row = connection.execute(select(OutboxRow).where(OutboxRow.id == row_id)).one()
        return OutboxItem(
            id=row.id,
            kind=row.kind,
            payload=json.loads(row.payload_json),
            instance_id=row.instance_id,
            attempts=row.attempts,
            engine=self._engine,
            token=token,
        )

    def _deliver_one(self, item: OutboxItem) -> bool:
        delivery = self._deliveries.get(item.kind)
        try:
            if delivery is None:
                raise LookupError(f"no delivery is registered for outbox kind {item.kind!r}")
            delivery(item)
        except ClaimLost:
            log.info("outbox row %s: another deliverer took it over", item.id)
            return False
        except Undeliverable as never:
            self._finish(item, status=FAILED, error=str(never))
            log.warning("outbox row %s (%s) cannot be delivered: %s", item.id, item.kind, never)
            return False
        except Exception as error:  # retried: a delivery must never break the caller
            self._retry(item, error)
            return False
        with self._db.connect() as connection, connection.begin():
            still_ours = connection.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item.id, OutboxRow.claim_token == item.token)
                .values(
                    status=DELIVERED,
                    delivered_at=self._engine.clock.now(),
                    claim_token=None,
                    claimed_until=None,
                )
            )
        # rowcount 0 here: the delivery marked it itself (mark_in), the usual case for commands
        return still_ours.rowcount == 1 or self._status(item.id) == DELIVERED

    def _retry(self, item: OutboxItem, error: Exception) -> None:
        attempts = item.attempts + 1
        log.warning("outbox row %s (%s) failed (try %d), retried: %s", item.id, item.kind, attempts, error)
        now = self._engine.clock.now()
        with self._db.connect() as connection, connection.begin():
            connection.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item.id, OutboxRow.claim_token == item.token)
                .values(
                    attempts=attempts,
                    available_at=now + backoff(attempts),
                    last_error=f"{type(error).__name__}: {error}"[:2000],
                    claim_token=None,
                    claimed_until=None,
                )
            )

    def _finish(self, item: OutboxItem, *, status: str, error: str) -> None:
        with self._db.connect() as connection, connection.begin():
            connection.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item.id, OutboxRow.claim_token == item.token)
                .values(
                    status=status,
                    attempts=item.attempts + 1,
                    last_error=error[:2000],
                    claim_token=None,
                    claimed_until=None,
                )
            )

    def _status(self, row_id: int) -> str | None:
        with self._db.connect() as connection:
            return connection.scalar(select(OutboxRow.status).where(OutboxRow.id == row_id))

    def rows_of(self, instance_id: int) -> list[Any]:
        """The outbox rows an instance's commands wrote, oldest first (what became of its follow-ups)."""
        with self._db.connect() as connection:
            return list(
                connection.execute(
                    select(OutboxRow).where(OutboxRow.instance_id == instance_id).order_by(OutboxRow.id)
                )
            )
