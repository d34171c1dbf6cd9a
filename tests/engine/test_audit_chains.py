"""One audit chain per instance, anchored in the global chain (issue 16).

Commands on different instances no longer share a head row, and verification stays
complete: a tampered or deleted event in any instance's chain, a deleted chain, a
rewritten head and a tampered or deleted anchor are all found. The attacker here can
write the database but lacks the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update

from engine import audit, audit_checkpoint, audit_key, schema
from engine.db import make_db_engine, make_session_factories
from engine.models import AuditChain, AuditEvent, AuditHead
from engine.store import Store
from tests.conftest import TEST_AUDIT_KEY
from tests.engine.audit_forger import global_events
from tests.engine.support import engine_test_handlers, valid_bundle


def submitted(engine, instance_id: int) -> None:
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="alice", data={"amount": 500, "description": "desk"})


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


@pytest.fixture
def two_instances(engine) -> tuple[int, int]:
    """Two instances, each with a chain of two events (start, complete)."""
    first = engine.start(actor="alice").instance_id
    second = engine.start(actor="bob").instance_id
    submitted(engine, first)
    submitted(engine, second)
    return first, second


def breaks(engine, **options) -> list[str]:
    with engine.reader() as session:
        return [str(found) for found in audit.verify(session, **options)]


def chain(engine, number: int) -> list[AuditEvent]:
    with engine.reader() as session:
        query = select(AuditEvent).where(AuditEvent.chain == number).order_by(AuditEvent.seq)
        return list(session.scalars(query))


def tamper(engine, statement) -> None:
    with engine.writer() as session, session.begin():
        session.execute(statement)


def anchor_now(engine) -> int:
    return engine.anchor_audit_chains(every=timedelta(0))


# ---------------------------------------------------------------- where events go


def test_an_instances_events_form_its_own_chain_and_leave_the_global_head_alone(engine, two_instances):
    first, second = two_instances
    assert [(e.seq, e.command) for e in chain(engine, first)] == [(1, "start"), (2, "complete")]
    assert [(e.seq, e.command) for e in chain(engine, second)] == [(1, "start"), (2, "complete")]
    assert chain(engine, first)[1].prev_hash == chain(engine, first)[0].hash
    assert [e.command for e in chain(engine, audit.GLOBAL_CHAIN)] == ["deploy"]
    with engine.reader() as session:
        assert session.get(AuditHead, 1).last_id == 1
        assert session.get(AuditChain, first).tip == chain(engine, first)[-1].hash
    assert breaks(engine) == []


def test_commands_on_two_instances_commit_side_by_side(engine, db, two_instances):
    """PostgreSQL: an append to one instance's chain does not wait for another's open transaction."""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    first, second = two_instances
    done = threading.Event()
    with db.connect() as holding, holding.begin():
        audit.append(
            Store(holding), at=engine.clock.now(), actor="a", command="x", instance_id=first, detail={}
        )

        def other() -> None:
            with db.connect() as connection, connection.begin():
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                store = Store(connection)
                audit.append(
                    store, at=engine.clock.now(), actor="b", command="y", instance_id=second, detail={}
                )
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert done.is_set(), "the second instance's append waited for the first's transaction"
    assert breaks(engine) == []


# ---------------------------------------------------------------- an instance chain tampered with


def test_an_edited_event_in_an_instance_chain_is_detected(engine, two_instances):
    _, second = two_instances
    tamper(
        engine, update(AuditEvent).where(AuditEvent.chain == second, AuditEvent.seq == 1).values(actor="x")
    )
    assert breaks(engine) == [
        f"instance {second}, event 1: content does not match its hash: the record was edited"
    ]


def test_an_event_deleted_from_the_middle_of_an_instance_chain_is_detected(engine, two_instances):
    first, _ = two_instances
    submitted_again = engine.start(actor="carol").instance_id  # unrelated chains stay intact
    tamper(engine, delete(AuditEvent).where(AuditEvent.chain == first, AuditEvent.seq == 1))
    found = breaks(engine)
    assert found == [
        f"instance {first}, event 2: expected event 1: records are missing",
        f"instance {first}, event 2: previous-hash link broken: an earlier record changed",
    ]
    assert not any(f"instance {submitted_again}" in line for line in found)


def test_newest_events_deleted_are_found_by_the_head(engine, two_instances):
    first, _ = two_instances
    tamper(engine, delete(AuditEvent).where(AuditEvent.chain == first, AuditEvent.seq == 2))
    assert breaks(engine) == [f"instance {first}: the head names event 2 but the chain ends at 1"]


def test_newest_events_deleted_with_the_head_rewritten_are_found_by_an_anchor(engine, two_instances):
    first, _ = two_instances
    assert anchor_now(engine) == 2
    kept = chain(engine, first)[0]
    tamper(engine, delete(AuditEvent).where(AuditEvent.chain == first, AuditEvent.seq == 2))
    tamper(engine, update(AuditChain).where(AuditChain.chain == first).values(seq=1, tip=kept.hash))
    assert breaks(engine) == [
        f"instance {first}: an anchor recorded event 2, the chain ends at 1: records were deleted"
    ]


def test_a_whole_instance_chain_deleted_with_its_head_is_found_by_an_anchor(engine, two_instances):
    first, _ = two_instances
    anchor_now(engine)
    tamper(engine, delete(AuditEvent).where(AuditEvent.chain == first))
    tamper(engine, delete(AuditChain).where(AuditChain.chain == first))
    assert breaks(engine) == [
        f"instance {first}: an anchor recorded event 2 but the chain has no events: they were deleted"
    ]


def test_a_chain_whose_events_are_gone_but_head_remains_is_reported(engine, two_instances):
    _, second = two_instances
    tamper(engine, delete(AuditEvent).where(AuditEvent.chain == second))
    assert breaks(engine) == [
        f"instance {second}: its head names event 2 but the chain has no events: they were deleted"
    ]


def test_an_instance_chain_rewritten_in_plain_sha256_is_detected(engine, two_instances):
    first, _ = two_instances
    with engine.writer() as session, session.begin():
        previous = audit.GENESIS
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.chain == first).order_by(AuditEvent.seq)
        ):
            event.actor, event.prev_hash = "mallory", previous
            event.hash = previous = audit.legacy_hash(event)
        session.execute(update(AuditChain).where(AuditChain.chain == first).values(tip=previous))
    assert breaks(engine) == [
        f"instance {first}, event 1: a plain SHA-256 hash in an instance chain: rewritten without the key",
        f"instance {first}, event 2: a plain SHA-256 hash in an instance chain: rewritten without the key",
    ]


# ---------------------------------------------------------------- the anchors


def test_an_anchor_records_only_the_chains_grown_since_the_last(engine, two_instances, clock):
    first, second = two_instances
    assert anchor_now(engine) == 2
    assert anchor_now(engine) == 0  # nothing grew: no event
    submitted_twice = chain(engine, second)
    third = engine.start(actor="carol").instance_id
    assert anchor_now(engine) == 1
    anchors = [
        json.loads(e.detail) for e in chain(engine, audit.GLOBAL_CHAIN) if e.command == audit.ANCHOR_COMMAND
    ]
    assert anchors == [
        {
            "chains": {
                str(first): [2, chain(engine, first)[-1].hash],
                str(second): [2, submitted_twice[-1].hash],
            }
        },
        {"chains": {str(third): [1, chain(engine, third)[0].hash]}},
    ]
    assert breaks(engine) == []


def test_the_timer_pass_anchors_once_a_minute(engine, two_instances, clock):
    assert engine.fire_all_due() == 0
    assert [e.command for e in chain(engine, audit.GLOBAL_CHAIN)] == ["deploy"]  # not a minute yet
    clock.advance(timedelta(minutes=1))
    engine.fire_all_due()
    assert [e.command for e in chain(engine, audit.GLOBAL_CHAIN)] == ["deploy", audit.ANCHOR_COMMAND]


def test_an_edited_or_deleted_anchor_breaks_the_global_chain(engine, two_instances):
    anchor_now(engine)
    global_events(engine, 1)  # an event after the anchor
    [anchor] = [e for e in chain(engine, audit.GLOBAL_CHAIN) if e.command == audit.ANCHOR_COMMAND]
    tamper(engine, update(AuditEvent).where(AuditEvent.id == anchor.id).values(detail='{"chains": {}}'))
    assert breaks(engine) == [f"event {anchor.seq}: content does not match its hash: the record was edited"]
    tamper(engine, delete(AuditEvent).where(AuditEvent.id == anchor.id))
    assert breaks(engine) == [
        f"event {anchor.seq + 1}: expected event {anchor.seq}: records are missing",
        f"event {anchor.seq + 1}: previous-hash link broken: an earlier record changed",
    ]


def test_a_checkpoint_after_an_anchor_catches_the_anchor_truncated_away(engine, two_instances):
    first, _ = two_instances
    anchor_now(engine)
    with engine.reader() as session:
        checkpoint = audit_checkpoint.make(session, TEST_AUDIT_KEY, at=engine.clock.now())
    # The careful attacker: drop the anchor and rewind the global head, then truncate a chain.
    tamper(engine, delete(AuditEvent).where(AuditEvent.chain == audit.GLOBAL_CHAIN, AuditEvent.seq > 1))
    deploy = chain(engine, audit.GLOBAL_CHAIN)[0]
    tamper(engine, update(AuditHead).values(last_id=1, last_hash=deploy.hash))
    kept = chain(engine, first)[0]
    tamper(engine, delete(AuditEvent).where(AuditEvent.chain == first, AuditEvent.seq == 2))
    tamper(engine, update(AuditChain).where(AuditChain.chain == first).values(seq=1, tip=kept.hash))
    assert breaks(engine) == []  # what the database alone can no longer tell
    assert breaks(engine, checkpoints=[checkpoint]) == [
        f"{checkpoint.label}: its event is missing, the log ends at event 1: records were deleted"
    ]


# ---------------------------------------------------------------- upgrading a log of one chain


def _old_payload(event_id, at, actor, command, instance_id, detail, prev_hash) -> bytes:
    """What the single-chain engine signed (before revision 0007): the event's id first."""
    fields = [event_id, at.astimezone(UTC).isoformat(), actor, command, instance_id, detail, prev_hash]
    return json.dumps(fields, ensure_ascii=False).encode()


def test_a_single_chain_log_stays_valid_after_the_upgrade(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db = make_db_engine(url)
    schema.upgrade(db, revision="0006")
    previous = audit.GENESIS
    with db.begin() as connection:
        for event_id, instance_id in ((1, None), (2, 7), (3, 7), (4, None)):
            detail = json.dumps({"n": event_id})
            mac = hmac.new(
                TEST_AUDIT_KEY.secret,
                _old_payload(event_id, clock.now(), "alice", "old", instance_id, detail, previous),
                hashlib.sha256,
            ).hexdigest()
            connection.execute(
                text(
                    "INSERT INTO audit_events (id, at, actor, command, instance_id, detail, prev_hash, hash) "
                    "VALUES (:id, :at, 'alice', 'old', :instance_id, :detail, :prev_hash, :hash)"
                ),
                {
                    "id": event_id,
                    "at": clock.now().astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    "instance_id": instance_id,
                    "detail": detail,
                    "prev_hash": previous,
                    "hash": mac,
                },
            )
            previous = mac
        connection.execute(text("UPDATE audit_head SET last_id = 4, last_hash = :tip"), {"tip": previous})
    schema.upgrade(db)
    keyed = audit_key.bind(db, TEST_AUDIT_KEY)
    _, reader = make_session_factories(keyed)
    with keyed.begin() as connection:  # new events of instance 7 start its own chain
        audit.append(Store(connection), at=clock.now(), actor="bob", command="new", instance_id=7, detail={})
        audit.append(
            Store(connection), at=clock.now(), actor="bob", command="new", instance_id=None, detail={}
        )
    with reader() as session:
        assert audit.verify(session) == []
        rows = session.execute(
            select(AuditEvent.id, AuditEvent.chain, AuditEvent.seq).order_by(AuditEvent.id)
        )
        assert list(rows) == [(1, 0, 1), (2, 0, 2), (3, 0, 3), (4, 0, 4), (5, 7, 1), (6, 0, 5)]
        assert session.scalar(select(func.count()).select_from(AuditChain)) == 1
    db.dispose()
