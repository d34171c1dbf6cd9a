"""The audit chain detects any edited, deleted or truncated record."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from engine import audit
from tests.engine.audit_forger import global_events
from tests.engine.support import engine_test_handlers, valid_bundle


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    global_events(engine, 3)  # the global chain; tests/engine/test_audit_chains.py has the instance chains
    return engine


def breaks(engine) -> list[str]:
    with engine.reader() as session:
        return [str(found) for found in audit.verify(session)]


def tamper(engine, sql: str) -> None:
    with engine.writer() as session, session.begin():
        session.execute(text(sql))


def test_an_untouched_log_verifies(engine):
    assert breaks(engine) == []


def test_an_edited_record_is_detected(engine):
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE id = 2")
    assert breaks(engine) == ["event 2: content does not match its hash: the record was edited"]


def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(engine):
    tamper(
        engine,
        # the forger rewrites the hash too (borrowing another record's: surely different)
        "UPDATE audit_events SET actor = 'mallory', "
        "hash = (SELECT hash FROM audit_events WHERE id = 1) WHERE id = 2",
    )
    found = breaks(engine)
    assert "event 2: content does not match its hash: the record was edited" in found
    assert "event 3: previous-hash link broken: an earlier record changed" in found


def test_a_deleted_record_is_detected(engine):
    tamper(engine, "DELETE FROM audit_events WHERE id = 2")
    found = breaks(engine)
    assert "event 3: expected event 2: records are missing" in found
    assert "event 3: previous-hash link broken: an earlier record changed" in found


def test_deleting_the_newest_records_is_detected_at_the_tip(engine):
    tamper(engine, "DELETE FROM audit_events WHERE id = 4")
    assert breaks(engine) == ["chain tip: the head names event 4 but the log ends at 3"]
