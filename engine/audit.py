"""The append-only, tamper-evident log of every command.

Each event carries an HMAC-SHA256 over its own fields and the previous event's MAC,
keyed with a secret kept outside the database (engine.audit_key): editing, inserting
or deleting a record breaks the chain from there on, and without the key nobody can
recompute it. The head row records the tip, so deleting the newest records is caught
too; someone who also rewrites the head is caught by a signed checkpoint kept
elsewhere (engine.audit_checkpoint). Appends take the head row's lock, which keeps
the chain linear when several nodes write at once.

Logs begun before the key existed hold events with plain SHA-256 hashes. They stay
as they were: such legacy events are accepted only as the log's beginning, sealed by
the first keyed event, whose MAC covers the last legacy hash (``seal`` writes one on
purpose; any keyed append does it too). A plain hash after a keyed event is a forgery.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit_checkpoint
from engine.audit_checkpoint import Checkpoint
from engine.audit_key import AuditKey, key_of
from engine.models import AuditEvent, AuditHead
from engine.store import Store

GENESIS = "0" * 64
SEAL_COMMAND = "chain_keyed"


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
    key = key_of(store.connection)
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
    event.hash = event_mac(event, key)
    store.insert_audit_event(event)
    return event


def event_mac(event: AuditEvent, key: AuditKey) -> str:
    return key.sign(_payload(event))


def legacy_hash(event: AuditEvent) -> str:
    """What events written before the key carry: SHA-256 anyone can recompute."""
    return hashlib.sha256(_payload(event)).hexdigest()


def _payload(event: AuditEvent) -> bytes:
    fields = [
        event.id,
        event.at.astimezone(UTC).isoformat(),
        event.actor,
        event.command,
        event.instance_id,
        event.detail,
        event.prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False).encode()


def last_event(session: Session) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).first()


def ends_unkeyed(session: Session) -> bool:
    """Whether the newest event predates the key (a legacy log not sealed yet)."""
    last = last_event(session)
    return last is not None and legacy_hash(last) == last.hash


def seal(session: Session, *, at: datetime, actor: str) -> AuditEvent | None:
    """Key a log that ends in legacy events: one keyed event covering them; None if none."""
    last = last_event(session)
    if last is None or legacy_hash(last) != last.hash:
        return None
    connection = session.connection()
    detail = {"legacy_events": last.id, "legacy_tip": last.hash, "key_id": key_of(connection).key_id}
    store = Store(connection)
    return append(store, at=at, actor=actor, command=SEAL_COMMAND, instance_id=None, detail=detail)


@dataclass(frozen=True)
class Break:
    event_id: int | None
    message: str
    subject: str | None = None

    def __str__(self) -> str:
        where = self.subject or (f"event {self.event_id}" if self.event_id is not None else "chain tip")
        return f"{where}: {self.message}"


def verify(
    session: Session,
    *,
    key: AuditKey | None = None,
    checkpoints: Iterable[Checkpoint] = (),
    batch: int = 5000,
) -> list[Break]:
    """Every place where the stored log disagrees with itself, the key or a checkpoint.

    Empty when intact. The key defaults to the one the session's connection carries.
    """
    key = key or key_of(session.connection())
    breaks: list[Break] = []
    trusted: list[Checkpoint] = []
    for checkpoint in checkpoints:
        problem = audit_checkpoint.signature_problem(checkpoint, key)
        if problem is None:
            trusted.append(checkpoint)
        else:
            breaks.append(Break(checkpoint.event_id, problem, subject=checkpoint.label))
    walk = _Walk(key, remember={checkpoint.event_id for checkpoint in trusted})
    for event in _events_in_order(session, batch):
        walk.step(event)
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id, head.last_hash) != (walk.last_id, walk.expected_prev):
        message = f"the head names event {head.last_id} but the log ends at {walk.last_id}"
        walk.found.append(Break(None, message))
    for checkpoint in trusted:
        walk.found.extend(walk.against(checkpoint))
    return walk.breaks() + breaks


class _Walk:
    """One pass over a chain in id order: what disagrees, and what the checkpoints need.

    It knows nothing of where the events come from, so per-instance chains could be
    walked the same way.
    """

    def __init__(self, key: AuditKey, remember: Collection[int]) -> None:
        self.key = key
        self.remember = remember
        self.expected_prev, self.expected_id = GENESIS, 1
        self.keyed = self.count = 0
        self.legacy_until: int | None = None  # the last event of the legacy beginning
        self.unmatched = 0  # events matching neither the key nor a legacy hash
        self.found: list[Break] = []
        self.remembered: dict[int, tuple[str, int]] = {}  # id -> (its hash, events up to it)

    @property
    def last_id(self) -> int:
        return self.expected_id - 1

    def step(self, event: AuditEvent) -> None:
        self.count += 1
        if event.id != self.expected_id:
            self.found.append(Break(event.id, f"expected event {self.expected_id}: records are missing"))
        if event.prev_hash != self.expected_prev:
            self.found.append(Break(event.id, "previous-hash link broken: an earlier record changed"))
        if event_mac(event, self.key) == event.hash:
            self.keyed += 1
        elif legacy_hash(event) == event.hash and not self.keyed:
            self.legacy_until = event.id
        elif legacy_hash(event) == event.hash:
            message = "a plain SHA-256 hash after keyed events: rewritten without the key"
            self.found.append(Break(event.id, message))
        else:
            self.unmatched += 1
            self.found.append(Break(event.id, "content does not match its hash: the record was edited"))
        if event.id in self.remember:
            self.remembered[event.id] = (event.hash, self.count)
        self.expected_prev, self.expected_id = event.hash, event.id + 1

    def against(self, checkpoint: Checkpoint) -> list[Break]:
        if checkpoint.event_id == 0:
            return []
        seen = self.remembered.get(checkpoint.event_id)
        if seen is None:
            message = f"its event is missing, the log ends at event {self.last_id}: records were deleted"
            return [Break(checkpoint.event_id, message, subject=checkpoint.label)]
        found = []
        if seen[0] != checkpoint.event_hash:
            message = "its event no longer has the hash it had then: the log was rewritten"
            found.append(Break(checkpoint.event_id, message, subject=checkpoint.label))
        if seen[1] != checkpoint.events:
            message = f"{checkpoint.events} events up to it then, {seen[1]} now"
            found.append(Break(checkpoint.event_id, message, subject=checkpoint.label))
        return found

    def breaks(self) -> list[Break]:
        if self.unmatched and not self.keyed:
            # Not one event matches: most likely a wrong key rather than edits; say so first.
            message = (
                f"no event matches the key {self.key.key_id}: it is not the key this log was "
                "written with, or every keyed record was rewritten"
            )
            return [Break(None, message, subject="audit key"), *self.found]
        if self.legacy_until is not None and not self.keyed:
            message = (
                f"events 1-{self.legacy_until} carry plain SHA-256 hashes and no keyed event "
                "seals them: anyone could have rewritten them; seal the log with the key"
            )
            return [*self.found, Break(None, message, subject="unkeyed log")]
        return self.found


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
