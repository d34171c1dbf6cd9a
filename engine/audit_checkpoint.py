"""Signed statements of the audit chain's tip, kept away from the database.

Without the key nobody can forge an event, but someone who can write the database
can still delete the newest events and point the head row at the new end: what is
left verifies. A checkpoint (the last event's id and hash, the event count, when,
signed with the key) stored elsewhere closes that gap: verifying against it shows
whether that event still exists with that hash.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit_key import AuditKey
from engine.models import AuditEvent

FORMAT = "audit-checkpoint/1"
GLOBAL_CHAIN = "global"  # checkpoints sign the global chain, whose anchors cover the instance chains
_SIGNED_PREFIX = b"audit checkpoint\n"  # a checkpoint's MAC can never pass for an event's


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read; the message names the field."""


@dataclass(frozen=True)
class Checkpoint:
    chain: str
    event_id: int
    event_hash: str
    events: int
    at: datetime
    key_id: str
    mac: str

    @property
    def label(self) -> str:
        return f"checkpoint of {self.at.isoformat(timespec='seconds')} (event {self.event_id})"


def make(session: Session, key: AuditKey, *, at: datetime) -> Checkpoint:
    """The global chain's newest event as it stands now, signed.

    ``event_id`` is the event's position in the global chain (its id, for logs written
    before the chains were split). The global chain's anchors vouch for the instance
    chains, so anchor first (``audit.anchor``) for a checkpoint that covers every event.
    """
    global_chain = AuditEvent.chain == 0
    query = select(AuditEvent).where(global_chain).order_by(AuditEvent.seq.desc())
    last = session.scalars(query.limit(1)).first()
    event_id, event_hash = (last.seq, last.hash) if last is not None else (0, "0" * 64)
    up_to_it = select(func.count()).select_from(AuditEvent).where(global_chain, AuditEvent.seq <= event_id)
    events = session.scalar(up_to_it) or 0
    unsigned = Checkpoint(GLOBAL_CHAIN, event_id, event_hash, events, at.astimezone(UTC), key.key_id, mac="")
    return _with_mac(unsigned, key)


def signature_problem(checkpoint: Checkpoint, key: AuditKey) -> str | None:
    """Why the checkpoint cannot be trusted with this key, or None."""
    if checkpoint.key_id != key.key_id:
        return f"signed with key {checkpoint.key_id}, not with the configured key {key.key_id}"
    if _with_mac(checkpoint, key).mac != checkpoint.mac:
        return "signature does not match: the file was edited"
    return None


def to_json(checkpoint: Checkpoint) -> str:
    return json.dumps(_fields(checkpoint) | {"mac": checkpoint.mac}, indent=2)


def from_json(text: str) -> Checkpoint:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"not JSON ({error})") from None
    if not isinstance(data, dict):
        raise CheckpointError("not a JSON object")
    if data.get("format") != FORMAT:
        raise CheckpointError(f"format: expected {FORMAT!r}, got {data.get('format')!r}")
    if data.get("chain") != GLOBAL_CHAIN:
        raise CheckpointError(f"chain: expected {GLOBAL_CHAIN!r}, got {data.get('chain')!r}")
    return Checkpoint(
        chain=GLOBAL_CHAIN,
        event_id=_field(data, "event_id", int),
        event_hash=_field(data, "event_hash", str),
        events=_field(data, "events", int),
        at=_instant(_field(data, "at", str)),
        key_id=_field(data, "key_id", str),
        mac=_field(data, "mac", str),
    )


def _fields(checkpoint: Checkpoint) -> dict[str, Any]:
    fields = asdict(checkpoint)
    del fields["mac"]
    return {"format": FORMAT, **fields, "at": checkpoint.at.astimezone(UTC).isoformat()}


def _with_mac(checkpoint: Checkpoint, key: AuditKey) -> Checkpoint:
    canonical = json.dumps(_fields(checkpoint), sort_keys=True, separators=(",", ":"))
    mac = key.sign(_SIGNED_PREFIX + canonical.encode())
    return replace(checkpoint, mac=mac)


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CheckpointError(f"{name}: missing or not {'an integer' if kind is int else 'a string'}")
    return value


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise CheckpointError(f"at: {text!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise CheckpointError(f"at: {text!r} has no offset")
    return instant
