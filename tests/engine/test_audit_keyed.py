"""The keyed audit chain: someone who can write the database but lacks the key cannot rewrite it.

The forger here does what the attacker of issue 12 did: edit a record, recompute every
later hash (the payload format is no secret) and point the head row at the new tip.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import audit, audit_checkpoint
from engine.audit_checkpoint import CheckpointError
from engine.audit_key import AuditKey, AuditKeyError, create_key_file, parse_key, read_key_file
from engine.db import make_session_factories
from engine.models import AuditEvent, Deployment
from engine.service import ProcessEngine
from tests.conftest import TEST_AUDIT_KEY
from tests.engine.audit_forger import forge, global_events, hmac_with, payload, plain_sha256, truncate
from tests.engine.support import engine_test_handlers, valid_bundle

OTHER_KEY = AuditKey(b"\x01" * 32)


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    global_events(engine, 3)  # the global chain; tests/engine/test_audit_chains.py has the instance chains
    return engine  # events 1 (deploy) to 4 (logins)


def breaks(engine, **options) -> list[str]:
    with engine.reader() as session:
        return [str(found) for found in audit.verify(session, **options)]


def checkpoint_now(engine, key: AuditKey = TEST_AUDIT_KEY) -> audit_checkpoint.Checkpoint:
    with engine.reader() as session:
        return audit_checkpoint.make(session, key, at=engine.clock.now())


def test_events_carry_an_hmac_not_a_plain_hash(engine):
    with engine.reader() as session:
        first = session.get(AuditEvent, 1)
    assert first.hash == hmac_with(TEST_AUDIT_KEY)(payload(first))
    assert first.hash != plain_sha256(payload(first))
    assert breaks(engine) == []


def test_an_edit_with_every_later_hash_recomputed_in_plain_sha256_is_detected(engine):
    forge(engine, from_id=2, sign=plain_sha256, actor="mallory")
    found = breaks(engine)
    assert "event 2: a plain SHA-256 hash after keyed events: rewritten without the key" in found
    assert "event 4: a plain SHA-256 hash after keyed events: rewritten without the key" in found


def test_an_edit_with_every_later_hash_recomputed_with_a_wrong_key_is_detected(engine):
    forge(engine, from_id=2, sign=hmac_with(OTHER_KEY), actor="mallory")
    found = breaks(engine)
    assert "event 2: content does not match its hash: the record was edited" in found
    assert "event 4: content does not match its hash: the record was edited" in found


def test_a_log_rewritten_from_the_start_in_plain_sha256_is_reported_as_unsealed(engine):
    forge(engine, from_id=1, sign=plain_sha256, actor="mallory")
    [found] = breaks(engine)
    assert found.startswith(
        "unkeyed log: events 1-4 carry plain SHA-256 hashes and no keyed event seals them"
    )


def test_verifying_with_another_key_says_the_key_does_not_match(engine):
    found = breaks(engine, key=OTHER_KEY)
    assert found[0] == (
        f"audit key: no event matches the key {OTHER_KEY.key_id}: it is not the key this log "
        "was written with, or every keyed record was rewritten"
    )


def test_an_engine_without_a_key_refuses_to_append_and_stores_nothing(db, db_engine, clock):
    unkeyed = ProcessEngine(*make_session_factories(db_engine), engine_test_handlers(), clock=clock)
    with pytest.raises(AuditKeyError, match="no audit key"):
        unkeyed.deploy(valid_bundle(), actor="admin")
    with unkeyed.reader() as session:
        assert session.scalars(select(Deployment)).all() == []
        with pytest.raises(AuditKeyError, match="no audit key"):
            audit.verify(session)


# ---------------------------------------------------------------- checkpoints


def test_a_truncated_log_with_a_rewritten_head_passes_alone_but_not_against_a_checkpoint(engine):
    checkpoint = checkpoint_now(engine)
    assert (checkpoint.event_id, checkpoint.events) == (4, 4)
    truncate(engine, keep=2)
    assert breaks(engine) == []  # what the head row alone cannot tell
    found = breaks(engine, checkpoints=[checkpoint])
    assert found == [
        f"{checkpoint.label}: its event is missing, the log ends at event 2: records were deleted"
    ]


def test_a_truncated_log_grown_again_no_longer_matches_the_checkpoint(engine, clock):
    checkpoint = checkpoint_now(engine)
    truncate(engine, keep=2)
    clock.advance(timedelta(minutes=5))
    global_events(engine, 2, actor="bob")  # events 3 and 4 again, other instants and actors
    found = breaks(engine, checkpoints=[checkpoint])
    assert found == [
        f"{checkpoint.label}: its event no longer has the hash it had then: the log was rewritten"
    ]


def test_an_intact_log_matches_its_checkpoint_after_more_events(engine):
    checkpoint = checkpoint_now(engine)
    engine.start(actor="alice")
    global_events(engine, 1)
    assert breaks(engine, checkpoints=[checkpoint]) == []


def test_an_edited_checkpoint_or_one_of_another_key_is_not_trusted(engine):
    checkpoint = checkpoint_now(engine)
    edited = audit_checkpoint.from_json(
        audit_checkpoint.to_json(checkpoint).replace('"events": 4', '"events": 3')
    )
    foreign = checkpoint_now(engine, OTHER_KEY)
    ours, theirs = TEST_AUDIT_KEY.key_id, OTHER_KEY.key_id
    assert breaks(engine, checkpoints=[edited, foreign]) == [
        f"{edited.label}: signature does not match: the file was edited",
        f"{foreign.label}: signed with key {theirs}, not with the configured key {ours}",
    ]


def test_a_checkpoint_survives_its_json_form(engine):
    checkpoint = checkpoint_now(engine)
    text = audit_checkpoint.to_json(checkpoint)
    assert set(json.loads(text)) == {
        "format",
        "chain",
        "event_id",
        "event_hash",
        "events",
        "at",
        "key_id",
        "mac",
    }
    assert audit_checkpoint.from_json(text) == checkpoint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "not a JSON object"),
        ("{", "not JSON"),
        ('{"format": "other"}', "format: expected 'audit-checkpoint/1'"),
        (
            '{"format": "audit-checkpoint/1", "chain": "global", "event_id": "4"}',
            "event_id: missing or not an integer",
        ),
    ],
)
def test_a_malformed_checkpoint_names_what_is_wrong(text, message):
    with pytest.raises(CheckpointError, match=message):
        audit_checkpoint.from_json(text)


# ---------------------------------------------------------------- logs begun before the key


@pytest.fixture
def legacy_engine(engine):
    """The same log as the old code wrote it: plain SHA-256 everywhere."""
    forge(engine, from_id=1, sign=plain_sha256)
    return engine


def test_sealing_a_legacy_log_keeps_its_events_and_covers_them(legacy_engine):
    with legacy_engine.writer() as session, session.begin():
        legacy_tip = session.get(AuditEvent, 4).hash
        sealed = audit.seal(session, at=legacy_engine.clock.now(), actor="admin")
    assert (sealed.id, sealed.command, sealed.prev_hash) == (5, "chain_keyed", legacy_tip)
    assert json.loads(sealed.detail) == {
        "legacy_events": 4,
        "legacy_tip": legacy_tip,
        "key_id": TEST_AUDIT_KEY.key_id,
    }
    assert breaks(legacy_engine) == []
    with legacy_engine.writer() as session, session.begin():
        assert audit.seal(session, at=legacy_engine.clock.now(), actor="admin") is None  # once is enough


def test_any_keyed_append_seals_a_legacy_log_too(legacy_engine):
    global_events(legacy_engine, 1)
    assert breaks(legacy_engine) == []


def test_a_seal_rewritten_in_plain_sha256_leaves_an_unsealed_log(legacy_engine):
    with legacy_engine.writer() as session, session.begin():
        audit.seal(session, at=legacy_engine.clock.now(), actor="admin")
    forge(legacy_engine, from_id=2, sign=plain_sha256, actor="mallory")  # the seal (event 5) too
    [found] = breaks(legacy_engine)
    assert found.startswith(
        "unkeyed log: events 1-5 carry plain SHA-256 hashes and no keyed event seals them"
    )


def test_a_legacy_rewrite_under_an_untouched_seal_breaks_the_seals_link(legacy_engine):
    with legacy_engine.writer() as session, session.begin():
        audit.seal(session, at=legacy_engine.clock.now(), actor="admin")
    with legacy_engine.writer() as session, session.begin():
        events = session.scalars(select(AuditEvent).where(AuditEvent.id <= 4).order_by(AuditEvent.id)).all()
        previous = audit.GENESIS
        for event in events:
            event.actor = "mallory" if event.id == 2 else event.actor
            event.prev_hash = previous
            event.hash = previous = plain_sha256(payload(event))
    assert breaks(legacy_engine) == ["event 5: previous-hash link broken: an earlier record changed"]


# ---------------------------------------------------------------- keys


def test_keys_are_read_as_hex_or_base64_and_short_or_garbled_ones_are_refused():
    secret = bytes(range(32))
    assert parse_key(secret.hex(), "AUDIT_KEY").secret == secret
    assert parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", "AUDIT_KEY").secret == secret
    with pytest.raises(AuditKeyError, match="AUDIT_KEY: 16 bytes, at least 32 needed"):
        parse_key("00" * 16, "AUDIT_KEY")
    with pytest.raises(AuditKeyError, match="AUDIT_KEY: neither hex nor base64"):
        parse_key("not a key!", "AUDIT_KEY")
    with pytest.raises(AuditKeyError, match="AUDIT_KEY: empty"):
        parse_key("  ", "AUDIT_KEY")


def test_a_key_file_is_created_for_its_owner_only_and_never_replaced(tmp_path):
    path = tmp_path / "instance" / "audit.key"
    key = create_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_key_file(path) == key
    with pytest.raises(AuditKeyError, match="exists already, not replaced"):
        create_key_file(path)
    assert read_key_file(path) == key
    assert repr(key) == "AuditKey()"  # the secret never lands in a log line or traceback
