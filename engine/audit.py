"""The append-only, tamper-evident log of every command: one chain per instance, anchored.

Each event carries an HMAC-SHA256 over its own fields and the previous event's MAC in
its chain, keyed with a secret kept outside the database (engine.audit_key): editing,
inserting or deleting a record breaks the chain from there on, and without the key
nobody can recompute it.

Why several chains: with one chain every commit in the cluster had to lock its head
row, so no two commits ever ran side by side (issue 16). Now an instance's events form
the instance's own chain, whose head row (``audit_chains``) only commands on that
instance write; events of no instance (deployments, security events, drafts) form the
global chain (head ``audit_head``), appended rarely. Periodically (the engine's timer
pass, once a minute; ``complaints audit anchor``; every checkpoint) an *anchor* event in
the global chain records the tip of every instance chain grown since the last anchor.
Deleting an instance's newest events, or all of them with its head row, then no longer
matches an anchor; someone who also rewrites the global head is caught by a signed
checkpoint kept elsewhere (engine.audit_checkpoint). Verification stays complete: every
event of every chain checked, every chain's end matched against its head, every anchor
matched against its chain.

Logs begun before the chains were split are the global chain as it was: their events
keep their MACs (an event's position ``seq`` equals its old id). Logs begun before the
key existed hold events with plain SHA-256 hashes. They stay as they were: such legacy
events are accepted only as the global chain's beginning, sealed by the first keyed
global event, whose MAC covers the last legacy hash (``seal`` writes one on purpose; any
keyed global append, an anchor for one, does it too). A plain hash after a keyed event,
or in an instance chain, is a forgery.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from operator import attrgetter
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from engine import audit_checkpoint
from engine.audit_checkpoint import Checkpoint
from engine.audit_key import AuditKey, key_of
from engine.models import AuditChain, AuditEvent, AuditHead
from engine.store import Store

GENESIS = "0" * 64
GLOBAL_CHAIN = 0  # the chain of events of no instance, and of the anchors
SEAL_COMMAND = "chain_keyed"
ANCHOR_COMMAND = "audit_anchor"
ANCHOR_CHAINS_PER_EVENT = 2000  # keeps one anchor's detail small after a busy minute


def append(
    store: Store,
    *,
    at: datetime,
    actor: str,
    command: str,
    instance_id: int | None,
    detail: Mapping[str, Any],
) -> AuditEvent:
    """Append one event inside the caller's transaction, to the instance's chain or the global one.

    The chain's head row is the lock: for an instance, a row only that instance's commands
    write (and they hold the instance anyway), so commands on different instances never wait.
    """
    key = key_of(store.connection)
    chain = instance_id if instance_id is not None else GLOBAL_CHAIN
    seq, previous = store.advance_audit_chain(chain)
    event = AuditEvent(
        chain=chain,
        seq=seq,
        at=at,
        actor=actor,
        command=command,
        instance_id=instance_id,
        detail=json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str),
        prev_hash=previous,
    )
    event.hash = event_mac(event, key)
    event.id = store.insert_audit_event(event)
    return event


def record(
    session: Session, *, at: datetime, actor: str, command: str, detail: Mapping[str, Any]
) -> AuditEvent:
    """Append an event of no instance (a login, an account change) in the session's transaction."""
    store = Store(session.connection())
    return append(store, at=at, actor=actor, command=command, instance_id=None, detail=detail)


def anchor(store: Store, *, at: datetime, actor: str) -> int:
    """Record in the global chain the tip of every instance chain grown since it was last anchored.

    Returns how many chains were anchored (no event when none grew). Reads the instance
    heads without locking them: a command committing meanwhile is anchored next time.
    """
    store.lock_global_chain()
    anchored = 0
    while tips := store.unanchored_tips(ANCHOR_CHAINS_PER_EVENT):
        chains = {str(chain): [seq, tip] for chain, seq, tip in tips}
        append(store, at=at, actor=actor, command=ANCHOR_COMMAND, instance_id=None, detail={"chains": chains})
        store.mark_anchored(tips)
        anchored += len(tips)
    return anchored


def event_mac(event: AuditEvent, key: AuditKey) -> str:
    return key.sign(_payload(event))


def legacy_hash(event: AuditEvent) -> str:
    """What events written before the key carry: SHA-256 anyone can recompute."""
    return hashlib.sha256(_payload(event)).hexdigest()


def _payload(event: AuditEvent) -> bytes:
    fields = [
        event.seq,
        event.at.astimezone(UTC).isoformat(),
        event.actor,
        event.command,
        event.instance_id,
        event.detail,
        event.prev_hash,
    ]
    if event.chain != GLOBAL_CHAIN:  # an instance chain's event can never pass for a global one
        fields = ["instance chain", event.chain, *fields]
    return json.dumps(fields, ensure_ascii=False).encode()


def last_event(session: Session) -> AuditEvent | None:
    """The global chain's newest event."""
    query = select(AuditEvent).where(AuditEvent.chain == GLOBAL_CHAIN).order_by(AuditEvent.seq.desc())
    return session.scalars(query.limit(1)).first()


def ends_unkeyed(session: Session) -> bool:
    """Whether the newest event predates the key (a legacy log not sealed yet)."""
    last = last_event(session)
    return last is not None and legacy_hash(last) == last.hash


def seal(session: Session, *, at: datetime, actor: str) -> AuditEvent | None:
    """Key a global chain that ends in legacy events: one keyed event covering them; None if none."""
    last = last_event(session)
    if last is None or legacy_hash(last) != last.hash:
        return None
    connection = session.connection()
    detail = {"legacy_events": last.seq, "legacy_tip": last.hash, "key_id": key_of(connection).key_id}
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
    """Every place where the stored log disagrees with itself, the key, an anchor or a checkpoint.

    Empty when intact. The key defaults to the one the session's connection carries.
    Walks every chain once in (chain, position) order: the global chain first, whose
    anchors then say what each instance chain must still hold.
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
    anchors: dict[int, dict[int, str]] = {}  # chain -> {seq: hash} the anchors recorded
    heads = {
        chain: (seq, tip)
        for chain, seq, tip in session.execute(select(AuditChain.chain, AuditChain.seq, AuditChain.tip))
    }
    chains: list[Break] = []
    for chain, events in groupby(_events_in_order(session, batch), key=attrgetter("chain")):
        if chain == GLOBAL_CHAIN:
            for event in events:
                if walk.step(event) and event.command == ANCHOR_COMMAND:
                    _note_anchor(event, anchors)
        else:
            chains.extend(
                _verify_instance_chain(key, chain, events, heads.pop(chain, None), anchors.pop(chain, {}))
            )
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id, head.last_hash) != (walk.last_id, walk.expected_prev):
        message = f"the head names event {head.last_id} but the log ends at {walk.last_id}"
        walk.found.append(Break(None, message))
    for checkpoint in trusted:
        walk.found.extend(walk.against(checkpoint))
    for chain, (seq, _tip) in sorted(heads.items()):
        message = f"its head names event {seq} but the chain has no events: they were deleted"
        chains.append(Break(None, message, subject=f"instance {chain}"))
    for chain, recorded in sorted(anchors.items()):
        message = f"an anchor recorded event {max(recorded)} but the chain has no events: they were deleted"
        chains.append(Break(None, message, subject=f"instance {chain}"))
    return walk.breaks() + chains + breaks


def _note_anchor(event: AuditEvent, anchors: dict[int, dict[int, str]]) -> None:
    for chain, (seq, tip) in json.loads(event.detail).get("chains", {}).items():
        anchors.setdefault(int(chain), {})[int(seq)] = tip


def _verify_instance_chain(
    key: AuditKey,
    chain: int,
    events: Iterable[AuditEvent],
    head: tuple[int, str] | None,
    anchored: Mapping[int, str],
) -> list[Break]:
    walk = _Walk(key, remember=anchored.keys(), chain=chain)
    for event in events:
        walk.step(event)
    where = f"instance {chain}"
    if head is None:
        walk.found.append(Break(None, f"no head row names its tip (the log ends at {walk.last_id})", where))
    elif head != (walk.last_id, walk.expected_prev):
        message = f"the head names event {head[0]} but the chain ends at {walk.last_id}"
        walk.found.append(Break(None, message, where))
    for seq, tip in sorted(anchored.items()):
        seen = walk.remembered.get(seq)
        if seen is None:
            message = (
                f"an anchor recorded event {seq}, the chain ends at {walk.last_id}: records were deleted"
            )
            walk.found.append(Break(seq, message, where))
        elif seen[0] != tip:
            message = f"event {seq} no longer has the hash an anchor recorded: the chain was rewritten"
            walk.found.append(Break(seq, message, where))
    return walk.found


class _Walk:
    """One pass over a chain in position order: what disagrees, and what checkpoints or anchors need.

    The global chain may begin with legacy (plain SHA-256) events; an instance chain may not.
    """

    def __init__(self, key: AuditKey, remember: Collection[int], chain: int = GLOBAL_CHAIN) -> None:
        self.key = key
        self.remember = remember
        self.chain = chain
        self.expected_prev, self.expected_id = GENESIS, 1
        self.keyed = self.count = 0
        self.legacy_until: int | None = None  # the last event of the legacy beginning
        self.unmatched = 0  # events matching neither the key nor a legacy hash
        self.found: list[Break] = []
        self.remembered: dict[int, tuple[str, int]] = {}  # seq -> (its hash, events up to it)

    @property
    def last_id(self) -> int:
        return self.expected_id - 1

    def _break(self, seq: int, message: str) -> None:
        subject = None if self.chain == GLOBAL_CHAIN else f"instance {self.chain}, event {seq}"
        self.found.append(Break(seq, message, subject))

    def step(self, event: AuditEvent) -> bool:
        """Check one event; True when its MAC matches the key."""
        self.count += 1
        if event.seq != self.expected_id:
            self._break(event.seq, f"expected event {self.expected_id}: records are missing")
        if event.prev_hash != self.expected_prev:
            self._break(event.seq, "previous-hash link broken: an earlier record changed")
        keyed = event_mac(event, self.key) == event.hash
        if keyed:
            self.keyed += 1
        elif legacy_hash(event) == event.hash and not self.keyed and self.chain == GLOBAL_CHAIN:
            self.legacy_until = event.seq
        elif legacy_hash(event) == event.hash:
            message = "a plain SHA-256 hash after keyed events: rewritten without the key"
            if self.chain != GLOBAL_CHAIN:
                message = "a plain SHA-256 hash in an instance chain: rewritten without the key"
            self._break(event.seq, message)
        else:
            self.unmatched += 1
            self._break(event.seq, "content does not match its hash: the record was edited")
        if event.seq in self.remember:
            self.remembered[event.seq] = (event.hash, self.count)
        self.expected_prev, self.expected_id = event.hash, event.seq + 1
        return keyed

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
    """Every event, chain by chain, each chain in position order, ``batch`` rows at a time."""
    after = (GLOBAL_CHAIN - 1, 0)
    position = tuple_(AuditEvent.chain, AuditEvent.seq)
    while True:
        query = select(AuditEvent).where(position > tuple_(*after)).order_by(AuditEvent.chain, AuditEvent.seq)
        rows = session.scalars(query.limit(batch)).all()
        if not rows:
            return
        yield from rows
        after = (rows[-1].chain, rows[-1].seq)
        session.expunge_all()
