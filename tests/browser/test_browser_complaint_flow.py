"""A complaint from intake to return visit, worked by five people in a real browser (issue 4).

Each step logs in as the demo user of the step's candidate group, finds the task in the
inbox, fills its form and completes it; the department first forgets W1 (the cause)
and sees the error at that field with what it typed kept. Screenshots of every step
are kept in test-artifacts/browser/.
"""

from __future__ import annotations

import re
from datetime import datetime

from tests.browser.test_browser_login import log_in
from tests.procedure import support

ACTOR_OF_GROUP = {"intake": "intake", "cs_center": "dispatcher", "dept:network": "network"}


def fill(page, data: dict) -> None:
    """Type ``data`` into the task form the way a person would."""
    for name, value in data.items():
        if isinstance(value, bool):
            page.locator(f'input[type=checkbox][name="{name}"]').set_checked(value)
        elif isinstance(value, list):
            for choice in value:
                page.locator(f'input[name="{name}"][value="{choice}"]').check()
        else:
            field = page.locator(f'[name="{name}"]')
            tag = field.evaluate("element => element.tagName + ':' + (element.type || '')")
            if tag.startswith("SELECT"):
                field.select_option(str(value))
            elif tag.endswith("datetime-local"):
                field.fill(datetime.fromisoformat(str(value)).strftime("%Y-%m-%dT%H:%M"))
            else:
                field.fill(str(value))


def open_from_inbox(page, base: str, element_name: str) -> None:
    page.goto(f"{base}/inbox")
    page.get_by_role("link", name=re.compile(re.escape(element_name))).first.click()
    page.wait_for_selector("form button[value=complete]")


def complete(page) -> None:
    page.locator("button[value=complete]").click()
    page.wait_for_load_state()


def test_a_complaint_through_intake_dispatch_handling_reply_and_return_visit(browser, live_app, shoot):
    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    sessions = {}

    def as_user(username: str):
        if username not in sessions:
            context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
            sessions[username] = context.new_page()
            log_in(sessions[username], base, username)
        return sessions[username]

    def next_step(element_id: str, element_name: str):
        [task] = [t for t in engine.open_tasks(instance_id) if t.element_id == element_id]
        worker = as_user(ACTOR_OF_GROUP[task.candidate_group])
        open_from_inbox(worker, base, element_name)
        return worker

    # Intake records the complaint (A1, A5) from a new complaint.
    intake = as_user("intake")
    intake.goto(f"{base}/inbox")
    intake.get_by_role("button", name="New complaint").click()
    intake.wait_for_selector("form button[value=complete]")
    instance_id = engine.task(intake.url.rsplit("/", 1)[-1]).instance_id
    fill(intake, support.record())
    shoot("intake-record", on=intake)
    complete(intake)
    assert "done" in intake.content()

    # The centre reviews and dispatches (L2).
    dispatcher = next_step("task_review_dispatch", "Review and dispatch")
    fill(dispatcher, support.dispatch())
    shoot("review-and-dispatch", on=dispatcher)
    complete(dispatcher)

    # The department replies without W1 (the cause): refused at the field, nothing lost.
    network = next_step("task_handle_order", "Handle the work order")
    reply = support.work_order_reply()
    cause = reply.pop("cause")
    fill(network, reply)
    complete(network)
    assert network.locator("#error-cause").is_visible()
    assert network.locator("#f-handling_process").input_value() == reply["handling_process"]
    shoot("w1-missing-error-at-the-field", on=network)
    network.locator("#f-cause").fill(cause)
    complete(network)
    assert not network.locator("#error-cause").count()

    # The centre finds the reply qualified (E4); the customer gets the reply (R4).
    reviewer = next_step("task_review_reply", "Review the department")
    fill(reviewer, support.review())
    complete(reviewer)
    replier = next_step("task_reply_customer", "Reply to the customer")
    fill(replier, support.customer_reply())
    shoot("reply-to-the-customer", on=replier)
    complete(replier)

    # Return visit (V1-V3): satisfied, the complaint closes.
    visitor = next_step("task_return_visit", "Return visit")
    fill(visitor, support.return_visit())
    complete(visitor)
    assert engine.instance(instance_id).status == "completed"

    # The complaint page shows the whole timeline: each step by its name, who did it (issue 13).
    supervisor = as_user("supervisor")
    supervisor.goto(f"{base}/instances/{instance_id}")
    supervisor.wait_for_selector("#diagram[data-rendered]")
    timeline = supervisor.locator(".timeline").inner_text()
    for step in (
        "Intake clerk · Record the complaint",
        "Review and dispatch",
        "Handle the work order",
        "Review the department's reply",
        "Reply to the customer",
        "Return visit",
    ):
        assert step in timeline, step
    assert "task_" not in timeline
    assert supervisor.locator(".djs-element.done").count() >= 10
    shoot("complaint-page-timeline", on=supervisor)
    for worker in sessions.values():
        worker.context.close()
