"""Idempotency keys: a retried request gets the first answer instead of doing the work twice.

A client that lost the answer to a command (a timeout, a dropped connection) sends
it again with the same key. The key is remembered with the answer in the command's
own transaction (``remember``), so either both the work and the key are committed or
neither is; a unique constraint makes two concurrent requests with one key produce
the work once: the second gets ``KeyInUse`` and its transaction is rolled back.
Keys are scoped by owner (who sent the request) and endpoint, and kept for ``TTL``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.errors import Conflict, EngineError
from engine.models import UTCDateTime

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 200


class IdempotencyKey(Base):
    """A request's key, the fingerprint of the request and the answer it got."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("owner", "endpoint", "key", name="uq_idempotency_keys_owner_endpoint_key"),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    answer_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class KeyedRequest:
    owner: str
    endpoint: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class KeyReused(EngineError):
    """The key was already used for a different request (another body or target)."""


class KeyInUse(Conflict):
    """A concurrent request with the same key committed first; this one was rolled back."""


def fingerprint(*parts: Any) -> str:
    """A digest of what makes two requests the same (target and body), key order aside."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def find(connection: Connection, request: KeyedRequest, *, now: datetime) -> Answer | None:
    """The answer remembered for this key, None if unknown or expired; KeyReused if another request."""
    row = connection.execute(
        select(IdempotencyKey.fingerprint, IdempotencyKey.status, IdempotencyKey.answer_json).where(
            *_same_key(request), IdempotencyKey.expires_at > now
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != request.fingerprint:
        raise KeyReused(f"this key was used for a different request within the last {_hours(TTL)} h")
    return Answer(row.status, json.loads(row.answer_json))


def remember(connection: Connection, request: KeyedRequest, answer: Answer, *, now: datetime) -> None:
    """Keep the answer under the key, inside the caller's transaction; KeyInUse if taken meanwhile."""
    connection.execute(delete(IdempotencyKey).where(*_same_key(request), IdempotencyKey.expires_at <= now))
    try:
        connection.execute(
            insert(IdempotencyKey).values(
                owner=request.owner,
                endpoint=request.endpoint,
                key=request.key,
                fingerprint=request.fingerprint,
                status=answer.status,
                answer_json=json.dumps(answer.body, ensure_ascii=False),
                created_at=now,
                expires_at=now + TTL,
            )
        )
    except IntegrityError:  # the caller's transaction is rolled back: the work is not done twice
        raise KeyInUse(
            "another request with this key was answered meanwhile; send it again for that answer"
        ) from None


def amend(connection: Connection, request: KeyedRequest, answer: Answer) -> None:
    """Replace a remembered answer (e.g. with a warning learnt after the command's commit)."""
    connection.execute(
        update(IdempotencyKey)
        .where(*_same_key(request))
        .values(status=answer.status, answer_json=json.dumps(answer.body, ensure_ascii=False))
    )


def forget_expired(connection: Connection, *, now: datetime) -> int:
    """Delete the keys past their TTL; returns how many."""
    return connection.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)).rowcount


def _same_key(request: KeyedRequest):
    return (
        IdempotencyKey.owner == request.owner,
        IdempotencyKey.endpoint == request.endpoint,
        IdempotencyKey.key == request.key,
    )


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)
