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

from engine.models import HumanTask
from tasks import records
from tasks.validators import ESCALATION_DESK
from tests.procedure import support
from tests.web.support import api_caller, csrf_token, log_in
from web import access, accounts, task_extras
from web.accounts import User, UserRole
from web.auth import SessionUser
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


# ---------------------------------------------------------------------- issue 15: every kind of object

GROUPS = sorted({group for demo in accounts.DEMO_USERS for group in demo.groups})
ROLES = (*accounts.ROLES, None)

# The answers web.access gives, by role and group, written out independently of it.
ADMINS = {"admin"}
EDITORS = {"process_owner", "admin"}
REPORT_READERS = {"supervisor", "admin"}
OVERSEERS = {"supervisor", "process_owner", "admin"}


def _viewer(username: str, role: str | None, group: str | None) -> SessionUser:
    return SessionUser(
        id=1,
        username=username,
        display_name=username,
        groups=frozenset({group} if group else ()),
        roles=frozenset({role} if role else ()),
    )


def _expected(check: str, role: str | None, group: str | None) -> bool:
    return {
        "administer": role in ADMINS,
        "edit_procedure": role in EDITORS,
        "read_reports": role in REPORT_READERS,
        "assign": role == "supervisor",
        "track_escalations": group == ESCALATION_DESK or role in OVERSEERS,  # T6
        "look_up_callers": group == "intake",  # T2/T3
        "start_complaint": group in ("intake", ESCALATION_DESK),  # T5: the desk's own entry
        "starts_at_the_desk": group == ESCALATION_DESK,
        "record_in_one_call": group == "intake",
    }[check]


CHECKS = {
    "administer": access.may_administer,
    "edit_procedure": access.may_edit_procedure,
    "read_reports": access.may_read_reports,
    "assign": access.may_assign,
    "track_escalations": access.may_track_escalations,
    "look_up_callers": access.may_look_up_callers,
    "start_complaint": access.may_start_complaint,
    "starts_at_the_desk": access.starts_at_the_desk,
    "record_in_one_call": access.may_record_in_one_call,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("group", [*GROUPS, None])
def test_the_policy_over_every_role_and_group(role, group):
    """Issue 15: every role x group x object kind, as the module's table says."""
    viewer = _viewer("pat", role, group)
    wrong = {
        name: check(viewer) for name, check in CHECKS.items() if check(viewer) != _expected(name, role, group)
    }
    assert wrong == {}
    for listed in [*GROUPS, None]:  # a group's list: its members (None: all the viewer's own)
        assert access.may_list_group(viewer, listed) == (listed is None or listed == group), listed
    for task_group in GROUPS:  # act on a task: the engine's rule, whatever the role
        for assignee, mine in ((None, task_group == group), ("pat", task_group == group), ("kim", False)):
            task = HumanTask(status="open", candidate_group=task_group, assignee=assignee)
            assert access.may_act_on_task(task, viewer) == mine, (task_group, assignee)
        done = HumanTask(status="completed", candidate_group=task_group, assignee="pat")
        assert not access.may_act_on_task(done, viewer)
    assert access.may_mark_notification(viewer, "pat") and not access.may_mark_notification(viewer, "kim")


def test_a_system_actors_name_acts_on_nothing():
    viewer = _viewer(SUBMITTED_VIA, None, "intake")
    assert not access.may_act_on_task(
        HumanTask(status="open", candidate_group="intake", assignee=SUBMITTED_VIA), viewer
    )
    assert not access.may_mark_notification(viewer, SUBMITTED_VIA)


# Who gets 200 (else 403) on the pages that are not one complaint or task.
PAGES = {
    "/reports": {"supervisor", "admin"},
    "/modeler": {"owner", "admin"},
    "/admin/versions": {"admin"},
    "/admin/users": {"admin"},
    "/complaints/escalated": {"escalation", "supervisor", "owner", "admin"},  # T6
    "/intake/lookup?phone=13800138001": {"intake", "ivy"},  # T2/T3
}


def _session_user(app, username: str) -> SessionUser:
    with app.extensions["process_engine"].reader() as session:
        return SessionUser.of(accounts.find_user(session, username))


def test_boards_reports_and_admin_pages_answer_as_the_policy_says(app, complaints):
    checks = {
        "/reports": access.may_read_reports,
        "/modeler": access.may_edit_procedure,
        "/admin/versions": access.may_administer,
        "/admin/users": access.may_administer,
        "/complaints/escalated": access.may_track_escalations,
        "/intake/lookup?phone=13800138001": access.may_look_up_callers,
    }
    wrong = []
    for username in PEOPLE:
        client, viewer = browser(app, username), _session_user(app, username)
        for path, allowed in PAGES.items():
            expected = username in allowed
            got = client.get(path).status_code
            if got != (200 if expected else 403) or checks[path](viewer) != expected:
                wrong.append((username, path, got))
    assert wrong == []


def test_group_lists_answer_alike_on_the_page_and_in_the_api(app, complaints):
    wrong = []
    for username in PEOPLE:
        client, api, viewer = browser(app, username), api_caller(app, username), _session_user(app, username)
        for group in GROUPS:
            expected = 200 if group in viewer.groups else 403
            for view, got in (
                ("page", client.get(f"/inbox?group={group}").status_code),
                ("api", api.get(f"/tasks?group={group}").status_code),
            ):
                if got != expected:
                    wrong.append((username, group, view, got))
    assert wrong == []


# Who may claim each complaint's open task: its group's members (the supervisor sees all
# tasks but acts on none of another group's; T6: the desk acts on none of the department's).
ACTS = {
    "intake": {"website_unrecorded"},
    "ivy": {"website_unrecorded"},
    "dispatcher": {"recorded_by_intake", "from_website"},
    "network": {"at_network", "escalated"},
}


def test_acting_on_a_task_gets_the_same_answer_from_the_page_and_the_api(app, complaints):
    engine = app.extensions["process_engine"]
    tasks = {name: engine.open_tasks(instance_id)[0] for name, instance_id in complaints.items()}
    wrong = []
    for username in PEOPLE:
        client, api, viewer = browser(app, username), api_caller(app, username), _session_user(app, username)
        token = csrf_token(client, "/inbox")
        for name, task in tasks.items():
            mine = name in ACTS.get(username, set())
            answers = {"policy": access.may_act_on_task(engine.task(task.id), viewer)}
            page = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
            answers["page"] = page.status_code == 302 and engine.task(task.id).assignee == username
            _release(engine, task.id)
            answers["api"] = api.post(f"/tasks/{task.id}/claim").status_code == 200
            _release(engine, task.id)
            wrong += [(username, name, view) for view, got in answers.items() if got != mine]
    assert wrong == []


def _release(engine, task_id: str) -> None:
    if engine.task(task_id).assignee is not None:
        engine.unclaim(task_id, actor="supervisor", may_release_others=True)
