"""Issue 17: procedure.toml edited as the owner's forms, and the calendar tester, through the JSON.

The real bpmn/ bundle is deployed; a draft of it is edited as modeler-settings.js and
modeler-calendars.js do: the files as they stand on the page plus one edit at a time.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.web.support import csrf_token
from tests.web.test_web_modeler import editor_token, files_of, new_draft, person
from web import accounts


@pytest.fixture
def owner(procedure_app):
    with procedure_app.extensions["process_engine"].writer() as session, session.begin():
        accounts.ensure_demo_users(session)
    client = person(procedure_app, "owner")
    draft_id = new_draft(client)
    token = editor_token(client, draft_id)
    files = files_of(client, draft_id)["files"]

    def call(route: str, **body):
        body.setdefault("files", files)
        return client.post(f"/modeler/drafts/{draft_id}/{route}", json=body, headers={"X-CSRFToken": token})

    return call


def figure(settings: dict, clock: str) -> dict:
    return next(entry for entry in settings["figures"] if clock in entry["clocks"])


def test_the_settings_read_every_figure_per_clock_and_order_type(owner):
    answer = owner("settings").get_json()
    l2 = figure(answer["settings"], "L2")
    assert l2["figure"] == "dispatch_deadlines"
    assert [(f["key"], f["hours"], f["minutes"], f["time"]) for f in l2["fields"]] == [
        ("ordinary", 2, 0, "calendar"),
        ("urgent", 0, 30, "calendar"),
    ]
    r4 = figure(answer["settings"], "R4")  # working time on the reply calendar
    assert r4["fields"][0]["time"] == "working" and r4["fields"][0]["calendar"] == "customer_reply"
    departments = {d["key"]: d["group"] for d in answer["settings"]["departments"]}
    assert departments["billing"] == "dept:billing"
    # The people of each group, from the accounts (read-only here).
    assert "network" in answer["settings"]["members"]["dept:network"]
    assert answer["settings"]["calendars"]["customer_reply"]["windows"] == ["08:00-12:00", "14:30-20:00"]


def test_l2_ordinary_to_3_hours_rewrites_its_line_keeps_the_comments_and_relabels_the_timer(owner):
    answer = owner(
        "settings", edits=[{"op": "set", "path": ["dispatch_deadlines", "ordinary"], "value": "PT3H"}]
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert 'ordinary = "PT3H"\nurgent = "PT30M"' in body["config"]
    assert "# L2 Review and dispatch (审核派单), from acceptance, plain elapsed time." in body["config"]
    assert figure(body["settings"], "L2")["fields"][0]["hours"] == 3
    [label] = [label for label in body["labels"] if label["element_id"] == "timer_dispatch_overdue"]
    assert label["name"] == "L2 3小时，紧急30分钟 3 h, urgent 30 min"


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (
            {"path": ["dispatch_deadlines", "ordinary"], "value": "3 hours"},
            "dispatch_deadlines.ordinary",
            "ISO",
        ),
        ({"path": ["warnings", "L2"], "value": 1.5}, "warnings.L2", "between 0 and 1"),
        ({"path": ["departments", "billing", "group"], "value": " "}, "departments.billing.group", "empty"),
        (
            {"path": ["calendars", "customer_reply", "timezone"], "value": "Mars/Base"},
            "calendars.customer_reply.timezone",
            "unknown time zone",
        ),
        (
            {"path": ["calendars", "customer_reply", "holidays"], "value": ["2026-13-01"]},
            "calendars.customer_reply.holidays[0]",
            "not a date",
        ),
        ({"path": ["main_process"], "value": "other"}, "main_process", "not a setting"),
    ],
)
def test_a_refused_edit_names_its_field_and_changes_nothing(owner, edit, field, words):
    answer = owner("settings", edits=[{"op": "set", **edit}])
    assert answer.status_code == 400
    assert answer.get_json()["field"] == field
    assert words in answer.get_json()["error"]


def test_departments_and_categories_are_added_and_removed(owner):
    body = owner(
        "settings",
        edits=[
            {
                "op": "add",
                "path": ["departments", "legal"],
                "value": {"label": "法务部 Legal", "group": "dept:legal"},
            },
            {"op": "add", "path": ["business_categories", "mobile"], "value": "移动 Mobile"},
            {"op": "remove", "path": ["departments", "marketing"]},
            {"op": "set", "path": ["warnings", "L2"], "value": 0.5},
        ],
    ).get_json()
    keys = [d["key"] for d in body["settings"]["departments"]]
    assert keys == ["network", "billing", "customer_service", "legal"]
    assert '[departments.legal]\nlabel = "法务部 Legal"\ngroup = "dept:legal"' in body["config"]
    assert "[departments.marketing]" not in body["config"]
    assert {"key": "mobile", "label": "移动 Mobile"} in body["settings"]["categories"]["business_categories"]
    assert body["settings"]["warnings"] == {"default": 0.75, "L2": 0.5}
    refused = owner("settings", edits=[{"op": "add", "path": ["departments", "Legal Dept"], "value": {}}])
    assert refused.get_json()["field"] == "departments.Legal Dept"


def test_the_calendar_tester_uses_the_engines_arithmetic_and_a_holiday_moves_the_due_instant(owner):
    # Friday 2026-12-04 19:00 Shanghai + 2 working hours: 1 h today (to 20:00), 1 h tomorrow from 08:00.
    answer = owner(
        "calendar-test", calendar="customer_reply", start="2026-12-04T19:00", duration="PT2H"
    ).get_json()
    assert datetime.fromisoformat(answer["due"]) == datetime.fromisoformat("2026-12-05T09:00:00+08:00")
    assert [pair[0][11:16] + "-" + pair[1][11:16] for pair in answer["windows"]] == [
        "19:00-20:00",
        "08:00-09:00",
    ]

    edited = owner(
        "settings",
        edits=[{"op": "set", "path": ["calendars", "customer_reply", "holidays"], "value": ["2026-12-05"]}],
    ).get_json()
    assert 'holidays = ["2026-12-05"]' in edited["config"]
    moved = owner(
        "calendar-test",
        files={"procedure.toml": edited["config"]},
        calendar="customer_reply",
        start="2026-12-04T19:00",
        duration="PT2H",
    ).get_json()
    assert datetime.fromisoformat(moved["due"]) == datetime.fromisoformat("2026-12-06T09:00:00+08:00")


def test_the_calendar_tester_names_a_bad_field(owner):
    answer = owner("calendar-test", calendar="customer_reply", start="yesterday", duration="PT2H")
    assert answer.status_code == 400 and answer.get_json()["field"] == "start"
    answer = owner("calendar-test", calendar="customer_reply", start="2026-12-04T19:00", duration="2h")
    assert answer.status_code == 400 and answer.get_json()["field"] == "duration"
    answer = owner("calendar-test", calendar="nope", start="2026-12-04T19:00", duration="PT2H")
    assert answer.status_code == 400 and answer.get_json()["field"] == "calendar"


def test_agents_may_not_use_the_settings_calls(procedure_app):
    with procedure_app.extensions["process_engine"].writer() as session, session.begin():
        accounts.ensure_demo_users(session)
    draft_id = new_draft(person(procedure_app, "owner"))
    agent = person(procedure_app, "intake")
    token = csrf_token(agent, "/inbox")  # a valid token of theirs: the role is what refuses
    for route in ("settings", "calendar-test"):
        response = agent.post(
            f"/modeler/drafts/{draft_id}/{route}", json={"files": {}}, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 403, route


def test_a_weekday_gets_its_own_windows_and_the_tester_follows(owner):
    """R4's calendar: Saturday only 08:00-10:00; Saturday 09:00 + 2 working hours runs into Sunday."""
    edited = owner(
        "settings",
        edits=[
            {
                "op": "set",
                "path": ["calendars", "customer_reply", "weekly"],
                "value": {"sat": ["08:00-10:00"]},
            }
        ],
    ).get_json()
    assert 'weekly = { sat = ["08:00-10:00"] }' in edited["config"]
    assert edited["settings"]["calendars"]["customer_reply"]["weekly"] == {"sat": ["08:00-10:00"]}
    due = owner(
        "calendar-test",
        files={"procedure.toml": edited["config"]},
        calendar="customer_reply",
        start="2026-12-05T09:00",
        duration="PT2H",
    ).get_json()["due"]
    assert datetime.fromisoformat(due) == datetime.fromisoformat("2026-12-06T09:00:00+08:00")
    refused = owner(
        "settings",
        edits=[{"op": "set", "path": ["calendars", "customer_reply", "weekly"], "value": {"sat": ["late"]}}],
    )
    assert refused.status_code == 400 and refused.get_json()["field"].startswith(
        "calendars.customer_reply.weekly"
    )
