"""Issue 12, item 6: one access policy (web.access) for the pages and the API.

The demo accounts (one per actor of the procedure), a second intake clerk and an account
whose username is the website form's actor look at five complaints at different stages;
every page and the API must give each of them the same answer, the one the table says.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from werkzeug.security import generate_password_hash

from tasks import records
from tests.procedure import support
from tests.web.support import api_caller, log_in
from web import accounts, task_extras
from web.accounts import User, UserRole
from web.public import SUBMITTED_VIA

PEOPLE = [demo.username for demo in accounts.DEMO_USERS] + ["ivy", SUBMITTED_VIA]

# Who sees which complaint. "recorded_by_intake" waits at dispatch (cs_center); "at_network"
# and "escalated" were recorded by ivy and dispatched by the dispatcher to the network
# department; "from_website" came in through the public form (its actor) and was recorded by
# ivy, now at dispatch; "website_unrecorded" waits for intake to check it.
EVERYONE = {
    "recorded_by_intake",
    "at_network",
    "escalated",
    "from_website",
    "website_unrecorded",
}
SEES = {
    "intake": {"recorded_by_intake", "website_unrecorded"},  # its own and its open task, not all
    "ivy": {"at_network", "escalated", "from_website", "website_unrecorded"},
    "dispatcher": {"recorded_by_intake", "at_network", "escalated", "from_website"},
    "network": {"at_network", "escalated"},
    "billing": set(),
    "specialist": set(),
    "legal": set(),
    "supervisor": EVERYONE,
    "escalation": {"escalated"},  # T6: the page and the API agree
    "handler": set(),  # T4: the branch complaint handler sees batch complaints only (none here)
    "owner": EVERYONE,
    "admin": EVERYONE,
    SUBMITTED_VIA: set(),  # the form's actor name is nobody's
}

# The open tasks each may open (page and API alike): their groups', all for supervisors.
TASKS = {
    "intake": {"website_unrecorded"},
    "ivy": {"website_unrecorded"},
    "dispatcher": {"recorded_by_intake", "from_website"},
    "network": {"at_network", "escalated"},
    "supervisor": EVERYONE,
}


@pytest.fixture
def app(procedure_app):
    engine = procedure_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        accounts.ensure_demo_users(session)  # ivy, a second intake clerk, comes with procedure_app
        session.add(_account_named_like_the_website_form())
    return procedure_app


def _account_named_like_the_website_form() -> User:
    """Made behind create_user's back: an account from before such names were refused."""
    user = User(
        username=SUBMITTED_VIA,
        display_name="Web Site",
        password_hash=generate_password_hash("password-1"),
        active=True,
        created_at=datetime.now(UTC),
    )
    user.role_rows = [UserRole(role="agent")]
    return user


@pytest.fixture
def complaints(app) -> dict[str, int]:
    engine = app.extensions["process_engine"]
    found = {}

    def recorded(name: str, started_by: str, recorded_by: str, phone: str, **changes) -> int:
        instance_id = engine.start(actor=started_by).instance_id
        data = support.record(customer_phone=phone, **changes)
        support.complete(engine, instance_id, "task_record_complaint", data, actor=recorded_by)
        found[name] = instance_id
        return instance_id

    recorded("recorded_by_intake", "intake", "intake", "13800138001")
    at_network = recorded("at_network", "ivy", "ivy", "13800138002")
    escalated = recorded(
        "escalated",
        "ivy",
        "ivy",
        "13800138003",
        channel="miit",
        complaint_types=["escalated"],
        outside_deadline="2026-11-28T12:00+08:00",
    )
    for instance_id in (at_network, escalated):
        support.complete(engine, instance_id, "task_review_dispatch", support.dispatch(), actor="dispatcher")
    recorded("from_website", SUBMITTED_VIA, "ivy", "13800138004")
    found["website_unrecorded"] = engine.start(actor=SUBMITTED_VIA).instance_id
    with engine.writer() as session, session.begin():
        for instance_id in found.values():
            task_extras.add_evidence(
                session,
                instance_id=instance_id,
                task_id=engine.open_tasks(instance_id)[0].id,
                filename="proof.txt",
                content_type="text/plain",
                content=f"proof of {instance_id}".encode(),
                username="ivy",
                now=engine.clock.now(),
            )
    return found


def browser(app, username):
    client = app.test_client()
    password = "password-1" if username in ("ivy", SUBMITTED_VIA) else accounts.DEMO_PASSWORD
    assert log_in(client, username, password).status_code == 302, username
    return client


def test_every_page_and_the_api_answer_as_the_table_says(app, complaints):
    engine = app.extensions["process_engine"]
    with engine.reader() as session:
        numbers = {
            name: complaint.number
            for name, instance_id in complaints.items()
            if (complaint := records.complaint_of_instance(session.connection(), instance_id)) is not None
        }
        evidence = {
            name: task_extras.evidence_of(session, instance_id)[0].id
            for name, instance_id in complaints.items()
        }
    wrong = []
    for username in PEOPLE:
        client, api = browser(app, username), api_caller(app, username)
        for name, instance_id in complaints.items():
            expected = 200 if name in SEES[username] else 403
            answers = {
                "page": client.get(f"/instances/{instance_id}").status_code,
                "evidence": client.get(f"/evidence/{evidence[name]}").status_code,
            }
            if name in numbers:
                answers["api"] = api.get(f"/complaints/{numbers[name]}").status_code
            wrong += [(username, name, view, got) for view, got in answers.items() if got != expected]
    assert wrong == []


def test_a_task_is_open_to_the_same_people_on_the_page_and_in_the_api(app, complaints):
    engine = app.extensions["process_engine"]
    tasks = {name: engine.open_tasks(instance_id)[0].id for name, instance_id in complaints.items()}
    wrong = []
    for username in PEOPLE:
        client, api = browser(app, username), api_caller(app, username)
        for name, task_id in tasks.items():
            expected = 200 if name in TASKS.get(username, set()) else 403
            for view, got in (
                ("page", client.get(f"/tasks/{task_id}").status_code),
                ("api", api.get(f"/tasks/{task_id}").status_code),
            ):
                if got != expected:
                    wrong.append((username, name, view, got))
    assert wrong == []


def test_the_overview_lists_each_person_the_tasks_they_may_act_on(app, complaints):
    by_id = {instance_id: name for name, instance_id in complaints.items()}
    for username in PEOPLE:
        html = browser(app, username).get("/").get_data(as_text=True)
        tasks = _section(html, "tasks")
        listed = {
            by_id[int(found)] for found in re.findall(r'</code></span></td>\s*<td class="num">(\d+)', tasks)
        }
        assert listed == TASKS.get(username, set()), username
        instances = _section(html, "instances")
        shown = {by_id[int(found)] for found in re.findall(r'<tr>\s*<td class="num">(\d+)</td>', instances)}
        assert shown == SEES[username], username


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start : html.index("</section>", start)]
