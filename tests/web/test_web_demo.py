"""Demo data (``complaints demo``): the real procedure in simulated time, a promised mix, an intact audit log.

The demo runs on the test database through the real engine and handlers; the simulated period
ends at a fixed instant here (the command uses the real now).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine.bundle import load_bundle
from engine.clock import FrozenClock
from engine.models import HumanTask, Instance
from tasks import demo, records
from tests.conftest import _empty_tables
from tests.web.support import BPMN
from web.system import build_engine

END = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
COUNT, SEED = 60, 7


@pytest.fixture(autouse=True)
def engines():
    """Every engine a test builds, disposed of afterwards (PostgreSQL empties tables between tests)."""
    built = []
    yield built
    for engine in built:
        engine.writer.kw["bind"].dispose()


def demo_run(engines, database_url, **options):
    clock = FrozenClock(END)
    engine = build_engine(database_url, clock=clock)
    engines.append(engine)
    engine.deploy(load_bundle(BPMN), actor="owner")
    return engine, demo.run_demo(engine, clock, end=END, **{"complaints": COUNT, "seed": SEED, **options})


def test_the_demo_produces_the_promised_mix_and_leaves_the_system_living(db, engines, database_url, run):
    engine, report = demo_run(engines, database_url)
    assert set(report.kinds) == {"ordinary", "major", "repeat", "batch", "escalated"}
    assert sum(report.kinds.values()) == COUNT
    for path in (
        "first_contact",
        "rework",
        "extension",
        "late_dispatch",
        "late_handling",
        "dissatisfied_redispatch",
        "dissatisfied_unreasonable",
        "unreachable",
        "written_reply",
    ):
        assert report.paths[path] >= 1, (path, report.paths)
    for outcome in (
        "closed",
        "resolved_at_first_contact",
        "closed_unreachable",
        "closed_dissatisfied",
        "open",
    ):
        assert report.outcomes[outcome] >= 1, (outcome, report.outcomes)
    assert sum(report.outcomes.values()) == COUNT  # every complaint is numbered and recorded
    assert {"L2", "L4"} <= set(report.breaches), report.breaches

    with engine.reader() as session:
        # timers fired at their simulated instants through the engine's fire path, not late
        lateness = session.scalars(select(records.DeadlineBreach.late_by_s)).all()
        assert lateness and max(lateness) < 1.0
        # the period ends at END: nothing happened after it, and work is left in the inboxes
        assert session.scalar(select(func.max(Instance.updated_at))) <= END
        assert session.scalar(select(func.min(Instance.created_at))) >= END - timedelta(days=7)
        open_tasks = session.execute(select(HumanTask.assignee).where(HumanTask.status == "open")).all()
        assert any(row.assignee for row in open_tasks) and any(not row.assignee for row in open_tasks)
        repeats = session.scalars(
            select(records.Complaint).where(records.Complaint.repeat_of.is_not(None))
        ).all()
        assert repeats and all("repeat" in row.flags for row in repeats)  # T3 linked to a closed complaint
        done_by = dict(
            session.execute(
                select(HumanTask.element_id, func.min(HumanTask.completed_by))
                .where(HumanTask.status == "completed")
                .group_by(HumanTask.element_id)
            ).all()
        )
        # R3 reviewed in turn, T1 approved by the supervisor, T7 reported by the desk
        assert (
            done_by.get("task_review_written_legal"),
            done_by.get("task_approve_plan"),
            done_by.get("task_report_outside"),
        ) == ("legal", "supervisor", "escalation")
        groups = set(
            session.scalars(
                select(HumanTask.candidate_group).where(HumanTask.element_id == "task_handle_order")
            )
        )
        assert {"dept:network", "dept:billing"} <= groups  # dispatched to more than one department
        assessments = session.scalar(
            select(func.count()).select_from(HumanTask).where(HumanTask.element_id == "task_assess_impact")
        )
        assert assessments >= 1  # H6: a serious-impact complaint is assessed again every 24 hours

    verified = run("audit", "verify")
    assert verified.exit_code == 0 and "audit log intact" in verified.output


def test_same_seed_same_demo(db, engines, database_url):
    _, first = demo_run(engines, database_url, complaints=25)
    _empty_tables(db)
    _, second = demo_run(engines, database_url, complaints=25)
    assert first.lines()[1:] == second.lines()[1:]
    assert (first.kinds, first.paths, first.outcomes, first.breaches) == (
        second.kinds,
        second.paths,
        second.outcomes,
        second.breaches,
    )


def test_the_command_refuses_bad_arguments_and_a_database_with_complaints(db, engines, database_url, run):
    refused = run("demo", "--complaints", "0")
    assert refused.exit_code == 1 and "--complaints: must be between 1 and 5000, not 0" in refused.output
    refused = run("demo", "--complaints", "5", "--days", "0")
    assert refused.exit_code == 1 and "--days: must be between 1 and 60" in refused.output
    refused = run("demo", "--complaints", "many")
    assert refused.exit_code == 2 and "'many' is not a valid integer" in refused.output
    nothing = run("demo", "--complaints", "3")
    assert nothing.exit_code == 1 and "nothing is deployed yet" in nothing.output

    assert run("setup", "--bundle", str(BPMN), "--demo-users", "--demo-complaints", "4").exit_code == 0
    counter = build_engine(database_url)
    engines.append(counter)
    with counter.reader() as session:
        assert session.scalar(select(func.count(records.Complaint.id))) == 4
    again = run("setup", "--bundle", str(BPMN), "--demo-complaints", "4")
    assert again.exit_code == 0 and "the database has complaints already, none added" in again.output
    refused = run("demo", "--complaints", "3")
    assert refused.exit_code == 1 and "the demo only fills an empty one" in refused.output
    with counter.reader() as session:
        assert session.scalar(select(func.count(records.Complaint.id))) == 4


@pytest.mark.parametrize("count", [1, 3])
def test_a_tiny_demo_works(db, engines, database_url, count):
    _, report = demo_run(engines, database_url, complaints=count)
    assert sum(report.kinds.values()) == count


def test_the_demo_leaves_amber_and_red_inbox_rows_and_unread_warnings(db, engines, database_url, run):
    """Issue 13: a newcomer sees the warnings work. Some work orders wait past L4's warning
    share (amber) or past due (red) at the period's end, and the command sends the warnings
    the scheduler would: unread notifications for their group and the supervisors."""
    from engine.models import Instance as InstanceRow
    from tasks import clock_marks
    from web import accounts
    from web.notifications import Notification

    engine, report = demo_run(engines, database_url)
    assert (report.paths["waiting_amber"], report.paths["waiting_red"]) == (3, 2)
    with engine.reader() as session:
        rows = session.execute(
            select(HumanTask.instance_id, HumanTask.element_id, InstanceRow.deployment_id)
            .join(InstanceRow, InstanceRow.id == HumanTask.instance_id)
            .where(HumanTask.status == "open")
        ).all()
        clocks = clock_marks.clock_rows(session.connection(), {row.instance_id for row in rows})
    states = [
        clock_marks.task_state(
            engine.runtime(row.deployment_id).clock_catalogue,
            clocks.get(row.instance_id, []),
            row.element_id,
            END,
        )
        for row in rows
    ]
    assert states.count("soon") >= 3 and states.count("overdue") >= 2, states

    with engine.writer() as session, session.begin():
        accounts.ensure_demo_users(session)
    from web import notifications

    assert notifications.sweep(engine, END) >= 3
    with engine.reader() as session:
        unread = session.scalars(select(Notification).where(Notification.read_at.is_(None))).all()
    assert {"network", "supervisor"} <= {note.username for note in unread}


def test_the_demo_command_sends_the_warnings_so_some_notifications_are_unread(db, engines, database_url, run):
    from web.notifications import Notification

    assert run("setup", "--bundle", str(BPMN), "--demo-users").exit_code == 0
    result = run("demo", "--complaints", "30")
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("warnings: ")]
    assert int(line.split()[1]) >= 1
    counter = build_engine(database_url)
    engines.append(counter)
    with counter.reader() as session:
        assert session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_(None))) >= 1
