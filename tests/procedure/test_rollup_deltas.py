"""Report rollups without hot rows (issue 16): on PostgreSQL commands append deltas, one folds.

Every complaint accepted on a day adds to the same rollup rows (the day's total, its
channel, its categories). Updated in place, one command's open transaction held those
rows and every other complaint's command waited. A projection hook after the real
complaint projection holds a command open here, as a slow command would.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select, text

from engine.handlers import Projection
from tasks import clocks, reports
from tasks.clocks import ClockRollup, ClockRollupDelta, ComplaintVolume, ComplaintVolumeDelta
from tasks.registry import REGISTRY
from tests.procedure import support

NOVEMBER = reports.Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture(autouse=True)
def postgres_only(db):
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its rollup rows are updated in place")


_PHONES = iter(range(13800000001, 13899999999))


def another_customer() -> dict:
    """An intake record of a customer not seen before (T2 asks about repeats otherwise)."""
    return support.record(customer_phone=str(next(_PHONES)))


def recorded(engine) -> int:
    instance_id = engine.start(actor="agent").instance_id
    support.complete(engine, instance_id, "task_record_complaint", another_customer())
    return instance_id


def figures(engine):
    with engine.reader() as session:
        connection = session.connection()
        return (
            reports.volumes(connection, NOVEMBER, {}).total,
            [(row.clock, row.measured, row.met) for row in reports.on_time(connection, NOVEMBER)],
        )


def deltas(engine) -> int:
    with engine.reader() as session:
        return session.scalar(select(func.count()).select_from(ComplaintVolumeDelta))


def dispatch(engine, instance_id: int) -> None:
    """Review and dispatch (L2 measured): adds to the day's clock rollup rows."""
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch())


def test_a_command_holding_its_rollups_open_does_not_hold_another_complaints_command(make_engine, db):
    """Both dispatches measure L2 on the same day: the same rollup rows (the intake's per-day
    complaint number is a counter row of its own, so the held command is the dispatch)."""
    hold, reached, release = threading.Event(), threading.Event(), threading.Event()

    def slow_command(projection: Projection) -> None:
        if hold.is_set() and projection.command == "complete":
            hold.clear()
            reached.set()
            release.wait(30)

    registry = replace(REGISTRY, projections=[*REGISTRY.projections, slow_command])
    engine = make_engine(registry)
    engine.deploy(support.bundle(), actor="process_owner")
    first, second = recorded(engine), recorded(engine)
    hold.set()
    slow = threading.Thread(target=dispatch, args=(engine, first))
    slow.start()
    try:
        assert reached.wait(30)
        other = threading.Thread(target=dispatch, args=(engine, second))
        other.start()
        other.join(15)
        assert not other.is_alive(), "another complaint's command waited for the first one's rollup rows"
        # The second command found the fold taken: its difference waits as a delta, and counts.
        with engine.reader() as session:
            waiting = session.scalar(select(func.count()).select_from(ClockRollupDelta))
        assert waiting > 0
        assert ("L2", 1, 1) in figures(engine)[1]
    finally:
        release.set()
        slow.join(30)
    assert ("L2", 2, 2) in figures(engine)[1]


def test_reports_read_the_same_figures_folded_or_not(make_engine, db):
    engine = make_engine(REGISTRY)
    engine.deploy(support.bundle(), actor="process_owner")
    recorded(engine)
    with db.connect() as folder, folder.begin():  # someone else is folding all along
        folder.execute(text(f"SELECT pg_advisory_xact_lock({clocks._FOLD_LOCK})"))
        for _ in range(3):
            recorded(engine)
        unfolded = figures(engine)
        assert deltas(engine) > 0
    recorded(engine)  # the fold is free again: this command folds everything committed
    assert deltas(engine) == 0
    folded = figures(engine)
    assert unfolded[0] == 4 and folded[0] == 5
    with engine.reader() as session:
        volume = session.get(ComplaintVolume, ("2026-11-27", "all", ""))
        kept = {
            (r.period, r.clock, r.dimension, r.value): (r.measured, r.met, round(r.late_s, 3), r.extended)
            for r in session.scalars(select(ClockRollup))
        }
    assert volume.complaints == 5
    with engine.writer() as session, session.begin():
        clocks.rebuild_rollups(session.connection())
    with engine.reader() as session:
        rebuilt = {
            (r.period, r.clock, r.dimension, r.value): (r.measured, r.met, round(r.late_s, 3), r.extended)
            for r in session.scalars(select(ClockRollup))
        }
    assert {k: v for k, v in rebuilt.items() if v[0]} == {k: v for k, v in kept.items() if v[0]}
