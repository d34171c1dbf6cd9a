"""The complaint record (tasks.records, table ``complaints``) follows a complaint through its life.

C1-C5, C4 numbers, L7 deadlines with their outcomes, stage and status; plus the T2/T3 queries
by phone and account and the migration that creates the table. Clock: Friday 2026-11-27 09:00.
"""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import Base
from tests.procedure import support
from tests.procedure.support import at, complaint_row, complete, iso

TABLES = {"complaints", "complaint_numbers", "deadline_breaches"}


def test_c4_l7_the_record_follows_a_complaint_from_intake_to_closing(engine, clock):
    """C1-C5, C4, H1, L7: number, customer, classification, stage, status, every deadline."""
    instance_id = engine.start(actor="agent").instance_id
    assert complaint_row(engine, instance_id) is None, "no number yet, no record"

    clock.set(at(27, 9, 10))
    complete(
        engine,
        instance_id,
        "task_record_complaint",
        support.record(customer_phone="138 0013 8000", customer_account="BB-0001"),
    )
    row = complaint_row(engine, instance_id)
    assert row.number == "TS-20261127-0001"
    assert (row.customer_name, row.customer_phone, row.customer_account) == (
        "王女士",
        "13800138000",
        "BB-0001",
    )
    assert (row.channel, row.business_category, row.nature_category) == (
        "phone",
        "internet_broadband",
        "installation_relocation",
    )
    assert (row.type_flags, row.priority, row.stage, row.status) == (
        "ordinary",
        "ordinary",
        "dispatch",
        "open",
    )
    assert row.accepted_at == at(27, 9, 10)
    assert row.deadline_outcomes["L2"] == {
        "clock": "L2",
        "due": iso(27, 11, 10),
        "done_at": None,
        "met": None,
        "breached": False,
    }

    clock.set(at(27, 11, 30))  # L2 missed by 20 minutes: the breach is recorded when it happens
    engine.fire_all_due()
    assert complaint_row(engine, instance_id).deadline_outcomes["L2"]["breached"] is True
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    row = complaint_row(engine, instance_id)
    assert row.stage == "handling"
    assert row.deadline_outcomes["L2"]["met"] is False
    assert row.deadline_outcomes["L2"]["late_by_s"] == 20 * 60
    assert row.deadline_outcomes["L4"]["due"] == iso(29, 11, 30)

    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    assert complaint_row(engine, instance_id).stage == "reply_review"
    complete(engine, instance_id, "task_review_reply", support.review())
    assert complaint_row(engine, instance_id).stage == "reply"
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    assert complaint_row(engine, instance_id).stage == "return_visit"
    clock.set(at(27, 12))
    complete(engine, instance_id, "task_return_visit", support.return_visit())

    row = complaint_row(engine, instance_id)
    assert (row.stage, row.status, row.outcome, row.closed_at) == ("closed", "closed", "closed", at(27, 12))
    # Every clock the diagrams' timers measure (L3 intake, E4 the centre's review too).
    assert {clock: entry["met"] for clock, entry in row.deadline_outcomes.items()} == {
        "L1": True,
        "L2": False,
        "L3": True,
        "L4": True,
        "E4": True,
        "R4": True,
    }


def test_c4_numbers_are_readable_and_gap_free_per_day(engine, clock):
    """C4: TS-<day>-0001, -0002, ...; a new day starts again at 0001; resolved-at-first-contact
    complaints are numbered too (every complaint counts)."""
    numbers = []
    for day, phone in ((27, "13900000001"), (27, "13900000002"), (28, "13900000003")):
        clock.set(at(day, 10))
        instance_id = engine.start(actor="agent").instance_id
        complete(
            engine,
            instance_id,
            "task_record_complaint",
            support.record(
                customer_phone=phone,
                first_contact_resolved=True,
                first_contact_resolution="已解释 Explained",
                customer_accepted=True,
            ),
        )
        row = complaint_row(engine, instance_id)
        assert (row.status, row.stage, row.outcome) == ("closed", "closed", "resolved_at_first_contact")
        numbers.append(row.number)
    assert numbers == ["TS-20261127-0001", "TS-20261127-0002", "TS-20261128-0001"]


def test_t2_t3_find_by_phone_and_account_lists_open_and_recent_complaints(engine, clock):
    """T2, T3: the intake agent's lookup: open complaints and those closed recently, newest first."""
    from tasks import records

    closed_long_ago = engine.start(actor="agent").instance_id
    complete(
        engine,
        closed_long_ago,
        "task_record_complaint",
        support.record(first_contact_resolved=True, first_contact_resolution="解释", customer_accepted=True),
    )
    clock.advance(timedelta(days=100))
    running = engine.start(actor="agent").instance_id
    complete(
        engine,
        running,
        "task_record_complaint",
        support.record(customer_account="BB-9", separate_matter=True),
    )

    with engine.reader() as session:
        connection = session.connection()
        recent = records.find_by_phone(connection, "138-0013-8000", now=clock.now())
        everything = records.find_by_phone(connection, "13800138000")
        by_account = records.find_by_account(connection, "BB-9", now=clock.now())
    assert [row.instance_id for row in recent] == [running]
    assert [row.instance_id for row in everything] == [running, closed_long_ago]
    assert [row.status for row in by_account] == ["open"]


def test_complaint_tables_migration_matches_the_models(db):
    """The tasks branch's Alembic revisions create exactly the tables tasks.records declares."""
    with db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [diff for diff in differences if TABLES & set(_names(diff))]
    assert ours == []


def _names(diff) -> list[str]:
    if isinstance(diff, list):
        return [part for item in diff for part in item if isinstance(part, str)]
    names = []
    for part in diff[1:]:
        table = getattr(part, "table", None)
        names.append(getattr(part, "name", None) if table is None else table.name)
        if isinstance(part, str):
            names.append(part)
    return [name for name in names if name]
