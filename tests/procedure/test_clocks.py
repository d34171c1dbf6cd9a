"""Named clocks per complaint (L7, L1, L2, L4, R4, E3, E5, V1) and the rollups kept with them.

Real procedure, real engine, simulated time: Friday 2026-11-27 09:00 Shanghai. Expected
instants are worked out by hand from procedure.toml: L1 24 h from receipt, L2 ordinary 2 h
from acceptance, L4 ordinary 48 h / urgent 24 h from dispatch, R4 2 working hours on the
reply calendar (08:00-12:00, 14:30-20:00) from the centre's acceptance of the reply.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import delete, select

from tasks import clocks, reports
from tasks.clocks import ClockRollup, ComplaintClock, ComplaintVolume
from tests.procedure import support
from tests.procedure.support import at, complete, iso


def clock_rows(engine, instance_id):
    with engine.reader() as session:
        rows = session.scalars(select(ComplaintClock).where(ComplaintClock.instance_id == instance_id)).all()
    return {(row.clock, row.round): row for row in rows}


def rollup(engine, clock, dimension="all", value=""):
    with engine.reader() as session:
        row = session.get(ClockRollup, ("2026-11-27", clock, dimension, value))
    return None if row is None else (row.measured, row.met, row.late_s, row.extended)


def all_rollups(engine):
    with engine.reader() as session:
        rows = session.scalars(select(ClockRollup)).all()
    return {
        (r.period, r.clock, r.dimension, r.value): (r.measured, r.met, round(r.late_s, 3), r.extended)
        for r in rows
        if r.measured
    }


def dispatched(engine, clock) -> int:
    """Received and recorded Friday 09:00, dispatched to network 10:00 (L2 met, L4 due Sun 10:00)."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    return instance_id


def test_l7_e3_clocks_started_due_stopped_extended_met_or_missed(engine, clock):
    """L1, L2, L4, R4, E3, L7: each clock with its start, due (first and extended), stop and outcome."""
    instance_id = dispatched(engine, clock)
    rows = clock_rows(engine, instance_id)
    assert set(rows) == {("L1", 1), ("L2", 1), ("L3", 1), ("L4", 1)}
    l3 = rows[("L3", 1)]  # L3: the record task's own timer, stopped when the record was completed
    assert (l3.status, l3.started_at, l3.due_at, l3.stopped_at) == ("met", at(27, 9), at(27, 11), at(27, 9))
    l2 = rows[("L2", 1)]
    assert (l2.status, l2.due_at, l2.stopped_at, l2.late_by_s) == ("met", at(27, 11), at(27, 10), 0.0)
    assert (l2.department, l2.channel, l2.period) == ("network", "phone", "2026-11-27")
    l4 = rows[("L4", 1)]
    assert (l4.status, l4.started_at, l4.due_at, l4.stopped_at) == ("running", at(27, 10), at(29, 10), None)
    l1 = rows[("L1", 1)]
    assert (l1.status, l1.started_at, l1.due_at) == ("running", at(27, 9), at(28, 9))

    clock.set(at(28, 15))  # E3: the department asks until Monday 18:00, the supervisor approves
    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 18)))
    clock.set(at(28, 16))
    complete(engine, instance_id, "task_decide_extension", {"extension_approved": True})
    l4 = clock_rows(engine, instance_id)[("L4", 1)]
    assert (l4.first_due_at, l4.due_at, l4.extensions, l4.started_at) == (
        at(29, 10),
        at(30, 18),
        1,
        at(27, 10),
    )
    l1 = clock_rows(engine, instance_id)[("L1", 1)]
    assert l1.status == "running", "no reply nor progress yet: L1 still runs"

    clock.set(at(30, 18, 0, 1))  # one second past the extended deadline
    engine.fire_all_due()
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    l4 = clock_rows(engine, instance_id)[("L4", 1)]
    assert (l4.status, l4.stopped_at, l4.late_by_s, l4.first_due_at) == (
        "missed",
        at(30, 18, 0, 1),
        1.0,
        at(29, 10),
    )
    # measured L2 met, L4 missed by 1 s after one extension; L1 not measured yet
    assert rollup(engine, "L2") == (1, 1, 0.0, 0)
    assert rollup(engine, "L4") == (1, 0, 1.0, 1)
    assert rollup(engine, "L4", "department", "network") == (1, 0, 1.0, 1)
    assert rollup(engine, "L4", "type_flag", "ordinary") == (1, 0, 1.0, 1)
    assert rollup(engine, "L1") is None

    # R4 from the department's reply (Monday 18:00:01, issue 11 item 3), accepted 19:00:
    # 2 h less a second that evening + 1 s from 08:00 = Tue 08:00:01
    clock.set(at(30, 19))
    complete(engine, instance_id, "task_review_reply", support.review())
    assert clock_rows(engine, instance_id)[("R4", 1)].due_at == at(1, 8, 0, 1).replace(month=12)
    clock.set(at(30, 19, 30))
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    rows = clock_rows(engine, instance_id)
    assert (rows[("R4", 1)].status, rows[("R4", 1)].late_by_s) == ("met", 0.0)
    # L1: the first reply came Monday 19:30, due Saturday 09:00: missed by 2 days 10.5 hours
    assert (rows[("L1", 1)].status, rows[("L1", 1)].late_by_s) == ("missed", (58 * 3600 + 1800.0))
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    assert support.complaint_row(engine, instance_id).status == "closed"
    with engine.reader() as session:
        volume = session.get(ComplaintVolume, ("2026-11-27", "all", ""))
    assert volume.complaints == 1


def test_e5_rework_keeps_the_clock_and_counts_it_once(engine, clock):
    """E5, L4, L7: a returned reply is reworked against the same due; one L4, measured once."""
    instance_id = dispatched(engine, clock)
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    assert rollup(engine, "L4") == (1, 1, 0.0, 0)
    clock.set(at(28, 10))
    complete(engine, instance_id, "task_review_reply", support.review(qualified=False))
    clock.set(at(29, 12))  # the rework is handed in two hours after the deadline set at dispatch
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    rows = clock_rows(engine, instance_id)
    assert [key for key in rows if key[0] == "L4"] == [("L4", 1)]
    l4 = rows[("L4", 1)]
    assert (l4.started_at, l4.due_at, l4.status, l4.late_by_s) == (at(27, 10), at(29, 10), "missed", 7200.0)
    assert rollup(engine, "L4") == (1, 0, 7200.0, 0), "the first, met measurement was taken back"


def test_v1_second_round_is_a_clock_of_its_own_and_the_rollups_match_a_rebuild(engine, clock):
    """V1, L2, L4, L7: round 2 measures L2 (the second review), L4 and R4 again as new clocks."""
    instance_id = dispatched(engine, clock)
    support.progress_told(engine, instance_id)
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=False))
    clock.set(at(28, 11))
    complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("not_solved"))
    clock.set(at(28, 11, 40))  # V1: the second review, 10 minutes past its urgent 30
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    rows = clock_rows(engine, instance_id)
    assert (rows[("L4", 2)].status, rows[("L4", 2)].due_at, rows[("L4", 2)].started_at) == (
        "running",
        at(29, 11, 40),
        at(28, 11, 40),
    )
    assert rows[("L4", 1)].status == "met"
    assert (rows[("L2", 2)].status, rows[("L2", 2)].due_at) == ("missed", at(28, 11, 30))
    clock.set(at(29, 12, 40))  # round 2 replied an hour late
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    assert rollup(engine, "L4") == (2, 1, 3600.0, 0)
    assert rollup(engine, "L2") == (2, 1, 600.0, 0)

    incremental = all_rollups(engine)
    with engine.writer() as session, session.begin():
        clocks.rebuild_rollups(session.connection())
    assert all_rollups(engine) == incremental


def test_a_closed_complaint_leaves_no_running_clock(engine, clock):
    """L7: a complaint resolved at first contact (A2) closes with L1 met; nothing stays running."""
    instance_id = engine.start(actor="agent").instance_id
    complete(
        engine,
        instance_id,
        "task_record_complaint",
        support.record(
            first_contact_resolved=True, first_contact_resolution="已解释 Explained", customer_accepted=True
        ),
    )
    rows = clock_rows(engine, instance_id)
    assert support.complaint_row(engine, instance_id).status == "closed"
    assert all(row.status != "running" for row in rows.values())
    assert rows[("L1", 1)].status == "met"


def test_rollups_survive_being_wiped_and_rebuilt(engine, clock):
    """The rebuild (backfill) gives the same rollups the projection kept."""
    dispatched(engine, clock)
    clock.set(clock.now() + timedelta(hours=1))
    before = all_rollups(engine)
    with engine.writer() as session, session.begin():
        session.execute(delete(ClockRollup))
        clocks.rebuild_rollups(session.connection())
    assert all_rollups(engine) == before and before


def test_heat_map_counts_each_element_of_a_closed_complaint_once(engine, clock):
    """Heat map: time each task took and the ones done after their due instant (L2 here, 30 min
    late), counted when the complaint closes; an open complaint adds nothing yet."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())  # 09:00 -> 09:00
    clock.set(at(27, 11, 30))  # L2 was due 11:00
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())  # 09:00 -> 11:30
    support.progress_told(engine, instance_id)
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())  # 21.5 h
    clock.set(at(28, 9, 30))
    complete(engine, instance_id, "task_review_reply", support.review())  # 30 min
    clock.set(at(28, 10))
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())  # 30 min
    other = engine.start(actor="agent").instance_id
    complete(engine, other, "task_record_complaint", support.record(customer_phone="13900139000"))
    period = reports.Period(date(2026, 11, 27), date(2026, 11, 28))
    with engine.reader() as session:
        assert reports.heat(session.connection(), period) == [], "nothing closed yet"
    clock.set(at(28, 11))
    complete(engine, instance_id, "task_return_visit", support.return_visit())  # 60 min
    with engine.reader() as session:
        heat = {
            row.element_id: (row.tasks, row.seconds, row.late)
            for row in reports.heat(session.connection(), period)
        }
    assert heat == {
        "task_record_complaint": (1, 0.0, 0),
        "task_review_dispatch": (1, 9000.0, 1),
        "task_handle_order": (1, 77400.0, 0),
        "task_review_reply": (1, 1800.0, 0),
        "task_reply_customer": (1, 1800.0, 0),
        "task_return_visit": (1, 3600.0, 0),
    }


def test_c4_a_corrected_category_moves_the_complaint_between_volumes(engine):
    """C4: the volumes are kept by difference; a complaint whose category is corrected counts once."""
    values = {
        "channel": "phone",
        "business_category": "fixed_phone",
        "nature_category": "other",
        "type_flags": "ordinary",
        "accepted_at": at(27, 9),
        "status": "open",
    }
    data = {"accepted_at": iso(27, 9)}

    def project(new, previous):
        with engine.writer() as session, session.begin():
            clocks.project_clocks(
                session.connection(),
                instance_id=1,
                data=data,
                summary={},
                values=new,
                previous=previous,
                now=at(27, 9),
                zone=support.SHANGHAI,
            )

    project(values, None)
    corrected = {**values, "business_category": "internet_broadband", "type_flags": "major,batch"}
    project(corrected, SimpleNamespace(**values))
    with engine.reader() as session:
        counts = {(v.dimension, v.value): v.complaints for v in session.scalars(select(ComplaintVolume))}
    assert counts == {
        ("all", ""): 1,
        ("channel", "phone"): 1,
        ("business_category", "fixed_phone"): 0,
        ("business_category", "internet_broadband"): 1,
        ("nature_category", "other"): 1,
        ("type_flag", "ordinary"): 0,
        ("type_flag", "major"): 1,
        ("type_flag", "batch"): 1,
    }
