"""The append-only, tamper-evident log of every command.

Each event's hash covers its own fields and the previous event's hash, so editing
or deleting any record breaks the chain from there on; the head row records the
tip, so deleting the newest records is caught too. Appends take the head row's
lock, which keeps the chain linear when several nodes write at once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import AuditEvent, AuditHead
from engine.store import Store

GENESIS = "0" * 64


def append(
    store: Store,
    *,
    at: datetime,
    actor: str,
    command: str,
    instance_id: int | None,
    detail: Mapping[str, Any],
) -> AuditEvent:
    """Append one event inside the caller's transaction; the head row is the lock."""
    event_id, previous = store.advance_audit_head()
    event = AuditEvent(
        id=event_id,
        at=at,
        actor=actor,
        command=command,
        instance_id=instance_id,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str),
        prev_hash=previous,
    )
    event.hash = event_hash(event)
    store.insert_audit_event(event)
    return event


def event_hash(event: AuditEvent) -> str:
    payload = json.dumps(
        [
            event.id,
            event.at.astimezone(UTC).isoformat(),
            event.actor,
            event.command,
            event.instance_id,
            event.detail,
            event.prev_hash,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    event_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else "chain tip"
        return f"{where}: {self.message}"


def verify(session: Session, batch: int = 5000) -> list[Break]:
    """Every place where the stored chain disagrees with itself; empty when intact."""
    breaks: list[Break] = []
    expected_prev, expected_id = GENESIS, 1
    for event in _events_in_order(session, batch):
        if event.id != expected_id:
            breaks.append(Break(event.id, f"expected event {expected_id}: records are missing"))
        if event.prev_hash != expected_prev:
            breaks.append(Break(event.id, "previous-hash link broken: an earlier record changed"))
        if event_hash(event) != event.hash:
            breaks.append(Break(event.id, "content does not match its hash: the record was edited"))
        expected_prev, expected_id = event.hash, event.id + 1
    head = session.get(AuditHead, 1)
    last_id = expected_id - 1
    if head is not None and (head.last_id, head.last_hash) != (last_id, expected_prev):
        breaks.append(Break(None, f"the head names event {head.last_id} but the log ends at {last_id}"))
    return breaks


def _events_in_order(session: Session, batch: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()
