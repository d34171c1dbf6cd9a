"""Notifications of clocks about to breach (L7 warnings, L2 and L1): sweep, bell, page, e-mail over SMTP.

The real procedure on the test clock (Friday 2026-11-27 09:00 Shanghai); the L2 warning of an
ordinary complaint recorded at 09:00 comes at 10:30 (75 % of two hours). E-mail goes to a real
SMTP server (aiosmtpd) started in the test.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.procedure import support
from tests.procedure.support import at
from tests.web.support import client_of, csrf_token
from web import accounts, mail, notifications, warning_job
from web.notifications import BreachWarning, Notification


def recorded(engine, phone: str = "13800138000") -> int:
    instance_id = engine.start(actor="ivy").instance_id
    data = support.record(customer_phone=phone)
    support.complete(engine, instance_id, "task_record_complaint", data, actor="ivy")
    return instance_id


def sweep(app, clock, **options) -> int:
    with app.app_context():
        return notifications.sweep(app.extensions["process_engine"], clock.now(), **options)


def rows(app) -> list[Notification]:
    with app.extensions["process_engine"].reader() as session:
        found = list(session.scalars(select(Notification).order_by(Notification.username)))
        session.expunge_all()
    return found


def test_l2_warning_goes_once_to_the_group_and_the_supervisors(procedure_app, clock):
    """Unclaimed: every member of the candidate group (cs_center) and every supervisor; once."""
    engine = procedure_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "dana", "password-1", "Dana", ["cs_center"], ["agent"])
    instance_id = recorded(engine)
    clock.set(at(27, 10, 29, 59))
    assert sweep(procedure_app, clock) == 0
    clock.set(at(27, 10, 30))
    assert sweep(procedure_app, clock) == 1
    found = [(row.username, row.clock, row.instance_id) for row in rows(procedure_app)]
    assert found == [("dana", "L2", instance_id), ("dora", "L2", instance_id), ("sue", "L2", instance_id)]
    clock.set(at(27, 10, 45))
    assert sweep(procedure_app, clock) == 0  # sent once per clock and due
    assert len(rows(procedure_app)) == 3


def test_claimed_task_warns_its_assignee_only_plus_supervisors(procedure_app, clock):
    engine = procedure_app.extensions["process_engine"]
    instance_id = recorded(engine)
    task = support.open_task(engine, instance_id, "task_review_dispatch")
    engine.claim(task.id, actor="dora", actor_groups=["cs_center"])
    clock.set(at(27, 10, 30))
    sweep(procedure_app, clock)
    found = [(row.username, row.task_id) for row in rows(procedure_app)]
    assert found == [("dora", task.id), ("sue", task.id)]


def test_two_nodes_sweeping_at_once_send_each_warning_once(procedure_app, clock):
    """The unique key (instance, clock, due) decides; the loser inserts nothing."""
    engine = procedure_app.extensions["process_engine"]
    for number in range(3):
        recorded(engine, f"1390000000{number}")
    clock.set(at(27, 10, 30))
    results: list[int] = []
    start = threading.Barrier(2)

    def node():
        start.wait()
        results.append(sweep(procedure_app, clock))

    threads = [threading.Thread(target=node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 3
    with engine.reader() as session:
        assert len(list(session.scalars(select(BreachWarning)))) == 3
    assert len(rows(procedure_app)) == 3 * 2  # dora and sue, once per complaint


def test_e3_extension_gives_a_new_warning_for_the_new_due(procedure_app, clock):
    engine = procedure_app.extensions["process_engine"]
    instance_id = recorded(engine)
    clock.set(at(27, 10))
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)
    clock.set(at(28, 22))  # L4: 75 % of Friday 10:00 -> Sunday 10:00
    assert sweep(procedure_app, clock) == 1
    support.complete(engine, instance_id, "task_handle_order", support.extension_request(support.iso(30, 9)))
    support.complete(engine, instance_id, "task_decide_extension", {"extension_approved": True})
    assert sweep(procedure_app, clock) == 0
    # E3 moves the due of the same clock (started Friday 10:00): 75 % of Friday 10:00 -> Monday
    # 09:00 (71 h) is Sunday 15:15, the instant the inbox turns amber and the at-risk report lists it
    clock.set(at(29, 15, 14))
    assert sweep(procedure_app, clock) == 0
    clock.set(at(29, 15, 15))
    assert sweep(procedure_app, clock) == 1
    dues = sorted({(row.clock, row.due_at) for row in rows(procedure_app)})
    assert dues == [("L4", at(29, 10)), ("L4", at(30, 9))]


def test_bell_counts_unread_and_the_page_marks_them_read(procedure_app, clock):
    engine = procedure_app.extensions["process_engine"]
    recorded(engine)
    clock.set(at(27, 10, 30))
    sweep(procedure_app, clock)
    dora = client_of(procedure_app, "dora")
    inbox = dora.get("/inbox").get_data(as_text=True)
    assert 'data-unread="1"' in inbox
    page = dora.get("/notifications").get_data(as_text=True)
    assert "L2" in page and "TS-20261127-0001" in page
    [mine] = [row for row in rows(procedure_app) if row.username == "dora"]
    [sues] = [row for row in rows(procedure_app) if row.username == "sue"]

    token = csrf_token(dora, "/notifications")
    assert dora.post(f"/notifications/{sues.id}/read", data={"csrf_token": token}).status_code == 403
    assert dora.post(f"/notifications/{mine.id}/read").status_code == 400  # no CSRF token
    assert dora.post(f"/notifications/{mine.id}/read", data={"csrf_token": token}).status_code == 302
    assert 'data-unread="0"' in dora.get("/inbox").get_data(as_text=True)
    assert [row.read_at is not None for row in rows(procedure_app)] == [True, False]  # dora, sue

    sue = client_of(procedure_app, "sue")
    token = csrf_token(sue, "/notifications")
    assert sue.post("/notifications/read-all", data={"csrf_token": token}).status_code == 302
    assert all(row.read_at is not None for row in rows(procedure_app))
    assert procedure_app.test_client().get("/notifications").status_code == 302  # to the login page


@pytest.fixture
def smtp_server():
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, received
    controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_email_copies_go_through_a_real_smtp_server(procedure_app, clock, smtp_server, run):
    controller, received = smtp_server
    engine = procedure_app.extensions["process_engine"]
    assert run("users", "email", "dora", "dora@example.invalid").exit_code == 0
    recorded(engine)
    clock.set(at(27, 10, 30))
    settings = mail.settings_from({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port)})
    assert sweep(procedure_app, clock, smtp=settings) == 1
    [message] = received
    assert message.rcpt_tos == ["dora@example.invalid"]
    text = message.content.decode("utf-8", errors="replace")
    assert "L2" in text and "TS-20261127-0001" in text
    statuses = {row.username: row.email_status for row in rows(procedure_app)}
    assert statuses == {"dora": "sent to dora@example.invalid", "sue": None}  # sue has no address


def test_a_failing_smtp_server_loses_no_notification_and_the_sweep_goes_on(procedure_app, clock, run):
    engine = procedure_app.extensions["process_engine"]
    assert run("users", "email", "dora", "dora@example.invalid").exit_code == 0
    recorded(engine, "13900000001")
    recorded(engine, "13900000002")
    clock.set(at(27, 10, 30))
    nothing_listens = mail.settings_from(
        {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(_free_port()), "SMTP_TIMEOUT": "2"}
    )
    assert sweep(procedure_app, clock, smtp=nothing_listens) == 2
    doras = [row for row in rows(procedure_app) if row.username == "dora"]
    assert len(doras) == 2 and all(row.email_status.startswith("failed: 127.0.0.1:") for row in doras)


def test_a_copy_the_smtp_server_refused_is_retried_from_the_outbox_until_it_goes(
    procedure_app, clock, smtp_server, run
):
    """Issue 15: e-mail copies are outbox rows written with the warning; a failed one is retried
    after its backoff (here by the periodic job, once the server is back) and sent once."""
    controller, received = smtp_server
    engine = procedure_app.extensions["process_engine"]
    assert run("users", "email", "dora", "dora@example.invalid").exit_code == 0
    recorded(engine)
    clock.set(at(27, 10, 30))
    nothing_listens = mail.settings_from(
        {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(_free_port()), "SMTP_TIMEOUT": "2"}
    )
    assert sweep(procedure_app, clock, smtp=nothing_listens) == 1
    [dora] = [row for row in rows(procedure_app) if row.username == "dora"]
    assert dora.email_status.startswith("failed: 127.0.0.1:") and received == []

    notifications.register_email(
        engine, mail.settings_from({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(controller.port)})
    )
    assert engine.outbox.deliver_pending() == 0, "not before its backoff"
    clock.advance(timedelta(seconds=5))
    assert engine.outbox.deliver_pending() == 1
    assert engine.outbox.deliver_pending() == 0
    [message] = received
    assert message.rcpt_tos == ["dora@example.invalid"]
    [dora] = [row for row in rows(procedure_app) if row.username == "dora"]
    assert dora.email_status == "sent to dora@example.invalid"


def test_users_email_refuses_a_bad_address_and_an_unknown_user(procedure_app, run):
    bad = run("users", "email", "dora", "not-an-address")
    assert bad.exit_code == 1 and "email: 'not-an-address' is not an e-mail address" in bad.output
    unknown = run("users", "email", "nobody", "x@example.invalid")
    assert unknown.exit_code == 1 and "no user named 'nobody'" in unknown.output


def test_smtp_settings_come_from_the_environment():
    assert mail.settings_from({}) is None
    settings = mail.settings_from({"SMTP_HOST": "mail.example", "SMTP_STARTTLS": "1", "SMTP_USER": "u"})
    assert (settings.port, settings.sender, settings.starttls, settings.password) == (
        25,
        "complaints@mail.example",
        True,
        None,
    )
    with pytest.raises(ValueError, match="SMTP_PORT"):
        mail.settings_from({"SMTP_HOST": "x", "SMTP_PORT": "twenty-five"})


def test_inbox_highlight_reads_the_configured_share(procedure_app, clock, tmp_path):
    """[warnings] L2 = 0.5: the dispatch row turns amber at 10:00, not 10:30."""
    import shutil

    from engine.bundle import load_bundle

    engine = procedure_app.extensions["process_engine"]
    folder = tmp_path / "bundle"
    shutil.copytree(support.BUNDLE, folder)
    toml = folder / "procedure.toml"
    section = "[warnings]\ndefault = 0.75\n"
    original = toml.read_text(encoding="utf-8")
    assert section in original
    toml.write_text(original.replace(section, section + "L2 = 0.5\n"), encoding="utf-8")
    engine.deploy(load_bundle(folder), actor="owner")
    recorded(engine)
    dora = client_of(procedure_app, "dora")
    clock.set(at(27, 9, 59))
    assert '<tr class="soon">' not in dora.get("/inbox").get_data(as_text=True)
    clock.set(at(27, 10))
    assert '<tr class="soon">' in dora.get("/inbox").get_data(as_text=True)


def test_the_scheduler_wakes_at_the_next_warning_instant_and_sweeps(procedure_app, clock):
    """Not only the minute sweep: the wake-up is the earliest warning instant ahead (L2 at 10:30)."""
    scheduler = warning_job.warning_job(procedure_app)
    engine = procedure_app.extensions["process_engine"]
    scheduler.reschedule()
    assert scheduler.wake_at is None  # nothing runs yet
    recorded(engine)
    scheduler.reschedule()
    assert scheduler.wake_at == at(27, 10, 30)
    clock.set(at(27, 10, 30))
    assert scheduler.run() == 1
    assert scheduler.wake_at == at(28, 3)  # next: L1, 18 h after receipt


def test_complaints_serve_sweeps_on_start_and_knows_the_next_instant(procedure_app, make_app, clock):
    """SCHEDULER on (as `complaints serve` runs): a warning due while no node ran is sent at start,
    by a job of the node's one scheduler (beside the engine's timers, on the same thread)."""
    engine = procedure_app.extensions["process_engine"]
    recorded(engine)
    clock.set(at(27, 10, 31))
    served = make_app(SCHEDULER=True, CLOCK=clock)
    node = served.extensions["node_scheduler"]
    warner = node.jobs["warnings"]
    try:
        assert set(node.jobs) == {"timers", "outbox", "warnings"}
        assert warner.caught_up.wait(timeout=60)  # the start-up sweep runs on the scheduler's thread
        assert [row.username for row in rows(served)] == ["dora", "sue"]
        assert warner.wake_at == at(28, 3)  # the L1 warning is the next instant ahead
    finally:
        served.extensions.pop("node_scheduler").shutdown()
