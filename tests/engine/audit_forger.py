"""What an attacker with write access to the database does to the audit log (issue 12).

The payload format is no secret, so the forger recomputes hashes exactly as the
engine would; only the key is out of reach.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC

from sqlalchemy import delete, select, update

from engine import audit
from engine.audit_key import AuditKey
from engine.models import AuditEvent, AuditHead
from engine.store import Store


def payload(event: AuditEvent) -> bytes:
    """A global-chain event's payload (its position ``seq`` was its id before the chains split)."""
    fields = [
        event.seq,
        event.at.astimezone(UTC).isoformat(),
        event.actor,
        event.command,
        event.instance_id,
        event.detail,
        event.prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False).encode()


def plain_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hmac_with(key: AuditKey) -> Callable[[bytes], str]:
    return lambda data: hmac.new(key.secret, data, hashlib.sha256).hexdigest()


def forge(engine, *, from_id: int, sign: Callable[[bytes], str], actor: str | None = None) -> None:
    """Set global event ``from_id``'s actor, recompute that hash and every later one, and the head."""
    with engine.writer() as session, session.begin():
        query = select(AuditEvent).where(AuditEvent.chain == audit.GLOBAL_CHAIN).order_by(AuditEvent.seq)
        events = session.scalars(query).all()
        previous = audit.GENESIS
        for event in events:
            if event.seq == from_id and actor is not None:
                event.actor = actor
            if event.seq >= from_id:
                event.prev_hash = previous
                event.hash = sign(payload(event))
            previous = event.hash
        head = session.get(AuditHead, 1)
        head.last_id, head.last_hash = events[-1].seq, previous


def truncate(engine, *, keep: int) -> None:
    """Delete every global event after ``keep`` and point the head at the new end, as an attacker would."""
    global_chain = AuditEvent.chain == audit.GLOBAL_CHAIN
    with engine.writer() as session, session.begin():
        session.execute(delete(AuditEvent).where(global_chain, AuditEvent.seq > keep))
        kept = session.scalars(select(AuditEvent).where(global_chain, AuditEvent.seq == keep)).one()
        session.execute(update(AuditHead).values(last_id=keep, last_hash=kept.hash))


def global_events(engine, count: int, *, actor: str = "alice") -> None:
    """Events of no instance (as logins are), which go to the global chain."""
    with engine.writer() as session, session.begin():
        for _ in range(count):
            audit.append(
                Store(session.connection()),
                at=engine.clock.now(),
                actor=actor,
                command="login",
                instance_id=None,
                detail={},
            )
