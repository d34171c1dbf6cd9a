"""The outbox: follow-ups written in the command's transaction, delivered after commit, each once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from engine import outbox
from engine.db import Base
from engine.errors import InvalidInput
from engine.models import Instance
from engine.outbox import OutboxItem, OutboxRow, Undeliverable
from engine.service import Outcome
from tests.engine.support import engine_test_handlers, valid_bundle


def writing(kind: str, **payload):
    """A ``record`` hook that writes one outbox row in the command's transaction."""

    def record(outcome: Outcome) -> None:
        outbox.add(
            outcome.connection,
            kind,
            payload,
            now=_CLOCK[0].now(),
            instance_id=outcome.result.instance_id,
        )

    return record


_CLOCK: list = []


def rows(engine) -> list:
    with engine.reader() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


@pytest.fixture
def delivered() -> list[OutboxItem]:
    return []


@pytest.fixture
def handlers(delivered):
    registry = engine_test_handlers()

    @registry.delivery("note")
    def note(item: OutboxItem) -> None:
        delivered.append(item)

    @registry.delivery("flaky")
    def flaky(item: OutboxItem) -> None:
        if item.attempts < 2:
            raise ConnectionError("the mail server is down")
        delivered.append(item)

    @registry.delivery("never")
    def never(item: OutboxItem) -> None:
        raise Undeliverable("the target has ended")

    return registry


@pytest.fixture
def engine(make_engine, handlers, clock):
    _CLOCK[:] = [clock]
    engine = make_engine(handlers)
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def test_a_row_written_in_the_command_is_delivered_once_after_its_commit(engine, delivered):
    result = engine.start(actor="alice", record=writing("note", text="hello"))
    assert [(item.kind, item.payload["text"], item.instance_id) for item in delivered] == [
        ("note", "hello", result.instance_id)
    ]
    [row] = rows(engine)
    assert (row.status, row.delivered_at, row.claim_token) == ("delivered", engine.clock.now(), None)
    assert engine.outbox.deliver_pending() == 0 and len(delivered) == 1, "delivered once"


def test_a_command_that_fails_leaves_no_row(engine, delivered):
    def refuse(outcome: Outcome) -> None:
        writing("note", text="lost")(outcome)
        raise InvalidInput({"amount": "refused after the row was written"})

    with pytest.raises(InvalidInput):
        engine.start(actor="alice", record=refuse)
    assert rows(engine) == [] and delivered == []
    with engine.reader() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


def test_a_failing_delivery_is_retried_with_backoff_until_done(engine, delivered, clock):
    engine.start(actor="alice", record=writing("flaky"))
    [row] = rows(engine)
    assert (row.status, row.attempts, row.available_at) == ("pending", 1, clock.now() + timedelta(seconds=5))
    assert "ConnectionError: the mail server is down" in row.last_error
    assert engine.outbox.deliver_pending() == 0, "not due before its backoff"
    clock.advance(timedelta(seconds=5))
    assert engine.outbox.deliver_pending() == 0
    [row] = rows(engine)
    assert (row.attempts, row.available_at) == (2, clock.now() + timedelta(seconds=10)), "doubled"
    clock.advance(timedelta(seconds=10))
    assert engine.outbox.deliver_pending() == 1
    assert [rows(engine)[0].status, len(delivered)] == ["delivered", 1]


def test_backoff_doubles_up_to_an_hour():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 12, 40)] == [5, 10, 20, 3600, 3600]


def test_an_undeliverable_row_ends_failed_with_its_reason(engine, clock):
    engine.start(actor="alice", record=writing("never"))
    [row] = rows(engine)
    assert (row.status, row.last_error) == ("failed", "the target has ended")
    clock.advance(timedelta(days=1))
    assert engine.outbox.deliver_pending() == 0


def test_a_kind_nobody_registered_stays_pending_and_says_so(engine):
    engine.start(actor="alice", record=writing("unknown_kind"))
    [row] = rows(engine)
    assert row.status == "pending"
    assert "no delivery is registered for outbox kind 'unknown_kind'" in row.last_error


def test_two_deliverers_racing_deliver_each_row_once(make_engine, handlers, delivered, clock):
    """Two nodes (web processes, the scheduler) deliver the same pending rows at once."""
    nodes = [make_engine(handlers, node=f"node-{n}") for n in (1, 2)]
    nodes[0].deploy(valid_bundle(), actor="admin")
    with nodes[0].writer() as session, session.begin():
        for n in range(20):
            outbox.add(session.connection(), "note", {"n": n}, now=clock.now())
    barrier = threading.Barrier(2)

    def deliver(node):
        barrier.wait()
        node.outbox.deliver_pending()

    threads = [threading.Thread(target=deliver, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(item.payload["n"] for item in delivered) == list(range(20))
    assert {row.status for row in rows(nodes[0])} == {"delivered"}


def test_a_claim_held_by_a_dead_deliverer_is_taken_over_after_its_lease(engine, delivered, clock):
    with engine.writer() as session, session.begin():
        row_id = outbox.add(session.connection(), "note", {"n": 1}, now=clock.now())
    held = engine.outbox._claim(row_id)  # a deliverer that then died
    assert held is not None
    assert engine.outbox.deliver_pending() == 0, "held by its lease"
    clock.advance(outbox.LEASE)
    assert engine.outbox.deliver_pending() == 1
    # the dead one's late mark cannot deliver it twice
    with pytest.raises(outbox.ClaimLost), engine.writer() as session, session.begin():
        held.mark_in(session.connection())
    assert len(delivered) == 1


def test_a_delivery_marked_in_its_own_command_commits_with_it(make_engine, handlers, clock):
    """A delivery that is an engine command marks the row in that command's transaction."""
    sent: list[int] = []

    @handlers.delivery("start_another")
    def start_another(item: OutboxItem) -> None:
        result = item.engine.start(actor="outbox", record=lambda outcome: item.mark_in(outcome.connection))
        sent.append(result.instance_id)

    _CLOCK[:] = [clock]
    engine = make_engine(handlers)
    engine.deploy(valid_bundle(), actor="admin")
    engine.start(actor="alice", record=writing("start_another"))
    assert len(sent) == 1
    [row] = rows(engine)
    assert row.status == "delivered"
    with engine.reader() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 2


def test_the_migration_matches_the_model(db):
    with db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [diff for diff in differences if "outbox" in repr(diff)] == []
