"""One clock (issue 10, L7): the inbox row, the complaint page, the warning sweep, the at-risk
report and the on-time rate show the SAME start, warning instant, due and outcome of a clock,
after an E5 return, an E3 extension and a V1 second dispatch; L1 follows its timer (12 h in the
timer gives 12 h everywhere); R4's warning counts working time only (lunch, night).

The real bundle on the real engine and the Flask app in simulated time (Friday 2026-11-27
09:00 Shanghai); ``[warnings] default = 0.75``.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime

import pytest

from engine.bundle import load_bundle
from tasks import reports, warning_sweep
from tests.procedure import support
from tests.procedure.support import BUNDLE, at, complete, iso, open_task
from web import accounts, create_app

STAFF = (
    ("ivy", ["intake"], ["agent"]),
    ("dora", ["cs_center"], ["agent"]),
    ("ned", ["dept:network"], ["agent"]),
    ("sue", ["supervisor"], ["supervisor"]),
)
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def make_app(db, database_url, clock):
    apps = []

    def build(bundle_path=BUNDLE):
        app = create_app(
            {
                "DATABASE_URL": database_url,
                "TESTING": True,
                "SCHEDULER": False,
                "SECRET_KEY": "t",
                "CLOCK": clock,
            }
        )
        apps.append(app)
        engine = app.extensions["process_engine"]
        engine.deploy(load_bundle(bundle_path), actor="owner")
        with engine.writer() as session, session.begin():
            for username, groups, roles in STAFF:
                accounts.create_user(session, username, "password-1", username.title(), groups, roles)
        return app

    yield build
    for app in apps:
        app.extensions["process_engine"].writer.kw["bind"].dispose()


def client_of(app, username):
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": username, "password": "password-1", "csrf_token": token})
    return client


def inbox_colour(app, username, task_id) -> str:
    page = client_of(app, username).get("/inbox").get_data(as_text=True)
    found = re.search(rf'<tr class="(\w*)">\s*<td><a href="/tasks/{task_id}"', page)
    assert found, f"task {task_id} not in {username}'s inbox"
    return found.group(1)


def page_clock(app, instance_id, clock_id) -> dict:
    page = client_of(app, "sue").get(f"/instances/{instance_id}").get_data(as_text=True)
    rows = re.findall(
        rf'<tr class="(\w*)" data-clock="{clock_id}" data-warn-at="([^"]*)" data-due="([^"]*)">', page
    )
    assert rows, f"no {clock_id} row on the complaint page"
    state, warn_at, due = rows[-1]
    return {"state": state, "warn_at": datetime.fromisoformat(warn_at), "due": datetime.fromisoformat(due)}


def swept(engine, now, clock_id) -> list[warning_sweep.RunningClock]:
    return [c for c in warning_sweep.running_clocks(engine, now) if c.clock == clock_id]


def at_risk(engine, now, clock_id) -> list[reports.AtRisk]:
    with engine.reader() as session:
        return [row for row in reports.at_risk(session.connection(), now) if row.clock == clock_id]


def on_time(engine, clock_id) -> reports.OnTime | None:
    with engine.reader() as session:
        period = reports.Period(date(2026, 11, 27), date(2026, 11, 27))
        rows = [row for row in reports.on_time(session.connection(), period) if row.clock == clock_id]
    return rows[0] if rows else None


def assert_one_clock(app, instance_id, clock_id, task_id, owner, *, now, warn_at, due, state):
    """Every reader agrees on the clock at ``now``."""
    engine = app.extensions["process_engine"]
    assert inbox_colour(app, owner, task_id) == state
    shown = page_clock(app, instance_id, clock_id)
    assert (shown["warn_at"], shown["due"], shown["state"]) == (warn_at, due, state)
    [running] = swept(engine, now, clock_id)
    assert (running.warn_at, running.due_at) == (warn_at, due)
    about = [c for c in warning_sweep.about_to_breach(engine, now) if c.clock == clock_id]
    listed = at_risk(engine, now, clock_id)
    if state == "soon":
        assert [c.key for c in about] == [running.key]
        assert [(row.warn_at, row.due_at) for row in listed] == [(warn_at, due)]
    else:
        assert about == [] and listed == []


def recorded(engine) -> int:
    instance_id = engine.start(actor="ivy").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(), actor="ivy")
    return instance_id


def dispatched(engine, clock) -> int:
    instance_id = recorded(engine)
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)
    return instance_id


def test_after_an_e5_return_every_reader_shows_l4_from_dispatch(make_app, clock):
    """E5, L4, L7: dispatched Friday 10:00 (due Sunday 10:00, warning Saturday 22:00); the reply
    handed in Saturday 10:00 is returned: the re-opened handling task is amber at 22:00 in the
    inbox, on the page, in the sweep and in the at-risk report alike, not at 75 % of the rework."""
    app = make_app()
    engine = app.extensions["process_engine"]
    instance_id = dispatched(engine, clock)
    clock.set(at(28, 10))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review(qualified=False))
    task = open_task(engine, instance_id, "task_handle_order")
    common = {"warn_at": at(28, 22), "due": at(29, 10)}
    clock.set(at(28, 21, 59))
    assert_one_clock(app, instance_id, "L4", task.id, "ned", now=clock.now(), state="", **common)
    clock.set(at(28, 22))
    assert_one_clock(app, instance_id, "L4", task.id, "ned", now=clock.now(), state="soon", **common)
    clock.set(at(29, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    shown = page_clock(app, instance_id, "L4")
    assert (shown["due"], shown["state"]) == (at(29, 10), "")
    assert swept(engine, clock.now(), "L4") == []
    l4 = on_time(engine, "L4")
    assert (l4.measured, l4.met, l4.extended) == (1, 1, 0)


def test_after_an_e3_extension_every_reader_shows_the_moved_due_on_the_same_clock(make_app, clock):
    """E3, L4: extended Saturday 09:00 until Monday 09:00: one clock started Friday 10:00, due
    Monday 09:00, warning at 75 % of 71 h = Sunday 15:15; handed in Monday 10:00: missed by 1 h,
    counted once, as extended."""
    app = make_app()
    engine = app.extensions["process_engine"]
    instance_id = dispatched(engine, clock)
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 9)))
    complete(engine, instance_id, "task_decide_extension", {"extension_approved": True})
    task = open_task(engine, instance_id, "task_handle_order")
    common = {"warn_at": at(29, 15, 15), "due": at(30, 9)}
    clock.set(at(29, 15, 14))
    assert_one_clock(app, instance_id, "L4", task.id, "ned", now=clock.now(), state="", **common)
    clock.set(at(29, 15, 15))
    assert_one_clock(app, instance_id, "L4", task.id, "ned", now=clock.now(), state="soon", **common)
    [running] = swept(engine, clock.now(), "L4")
    assert running.start == at(27, 10)
    clock.set(at(30, 10))
    engine.fire_all_due()
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    l4 = on_time(engine, "L4")
    assert (l4.measured, l4.met, l4.late_s, l4.extended) == (1, 0, 3600.0, 1)
    page = client_of(app, "sue").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "extended 1×" in page


def test_after_a_v1_second_dispatch_every_reader_shows_the_new_round(make_app, clock):
    """V1, L4: round 1 met Saturday 09:00; the second dispatch Saturday 11:00 (urgent, 24 h) is a
    new round of L4 started then, due Sunday 11:00, warning Sunday 05:00; both rounds count."""
    app = make_app()
    engine = app.extensions["process_engine"]
    instance_id = dispatched(engine, clock)
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=False))
    clock.set(at(28, 11))
    complete(engine, instance_id, "task_analyse_dissatisfaction", support.analysis("not_solved"))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())  # V1: reviewed again
    task = open_task(engine, instance_id, "task_handle_order")
    common = {"warn_at": at(29, 5), "due": at(29, 11)}
    clock.set(at(29, 4, 59))
    assert_one_clock(app, instance_id, "L4", task.id, "ned", now=clock.now(), state="", **common)
    clock.set(at(29, 5))
    assert_one_clock(app, instance_id, "L4", task.id, "ned", now=clock.now(), state="soon", **common)
    [running] = swept(engine, clock.now(), "L4")
    assert running.start == at(28, 11)
    l4 = on_time(engine, "L4")
    assert (l4.measured, l4.met) == (1, 1), "round 1 counted, round 2 still running"


def test_l1_at_12_hours_in_the_config_gives_12_hours_everywhere(make_app, clock, tmp_path):
    """L1: the figure changed to 12 h in procedure.toml (the map's L1 timer reads it through
    deadline_span): the breach row, the warning, the at-risk report and the complaint page say
    due Friday 21:00 (warning 18:00); neither Python nor the diagram spells 24 h."""
    folder = tmp_path / "bundle"
    shutil.copytree(BUNDLE, folder)
    diagram = (folder / "complaint.bpmn").read_text(encoding="utf-8")
    assert 'due_in(deadline_span("first_reply_deadline"))</bpmn:timeDate>' in diagram
    assert "due_in(\"PT24H\")" not in diagram
    toml = folder / "procedure.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            '[first_reply_deadline]\nspan = "PT24H"', '[first_reply_deadline]\nspan = "PT12H"'
        ),
        "utf-8",
    )
    app = make_app(folder)
    engine = app.extensions["process_engine"]
    instance_id = recorded(engine)
    clock.set(at(27, 18))
    [l1] = swept(engine, clock.now(), "L1")
    assert (l1.start, l1.warn_at, l1.due_at, l1.assignee) == (at(27, 9), at(27, 18), at(27, 21), "ivy")
    assert [(row.warn_at, row.due_at) for row in at_risk(engine, clock.now(), "L1")] == [
        (at(27, 18), at(27, 21))
    ]
    shown = page_clock(app, instance_id, "L1")
    assert (shown["warn_at"], shown["due"], shown["state"]) == (at(27, 18), at(27, 21), "soon")
    clock.set(at(27, 21, 0, 1))
    assert engine.fire_all_due() == 1
    assert [row for row in support.breaches(engine, instance_id) if row["clock"] == "L1"] == [
        {"clock": "L1", "due": at(27, 21), "at": at(27, 21, 0, 1), "late_by_s": 1.0}
    ]
    assert support.complaint_row(engine, instance_id).deadline_outcomes["L1"]["due"] == iso(27, 21)


@pytest.mark.parametrize(
    ("accepted", "warn_at", "due"),
    [
        # accepted 11:30: 30 min before lunch, then 14:30 on; 75 % of 2 working hours is 90 min
        ((27, 11, 30), (27, 15, 30), (27, 16)),
        # accepted 19:30: 30 min before the night, then Saturday from 08:00
        ((27, 19, 30), (28, 9), (28, 9, 30)),
    ],
)
def test_r4_warns_after_the_share_of_its_working_time(make_app, clock, accepted, warn_at, due):
    """R4, L5, L7: the reply clock counts working time only, and so does its warning instant."""
    app = make_app()
    engine = app.extensions["process_engine"]
    instance_id = dispatched(engine, clock)
    clock.set(at(*accepted))  # R4 runs from the department's reply, accepted at once (issue 11)
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    task = open_task(engine, instance_id, "task_reply_customer")
    assert task.due_at == at(*due)
    [r4] = swept(engine, clock.now(), "R4")
    assert (r4.start, r4.warn_at, r4.due_at) == (at(*accepted), at(*warn_at), at(*due))
    clock.set(at(*warn_at))
    assert_one_clock(
        app,
        instance_id,
        "R4",
        task.id,
        "ned",
        now=clock.now(),
        state="soon",
        warn_at=at(*warn_at),
        due=at(*due),
    )
