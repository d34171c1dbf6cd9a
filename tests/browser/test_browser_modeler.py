"""Issue 5 done: the process owner changes the L2 dispatch deadline in the modeler, an admin deploys it.

Real Chromium, the real bpmn/ bundle and engine. The owner opens a draft of the current
version, sets ``[dispatch_deadlines] ordinary`` (L2, applied by ``svc_dispatch_deadline``)
from PT2H to PT3H, breaks the timer expression of ``timer_dispatch_overdue`` and sees the
error pinned to that element, fixes it and submits; the admin deploys. A complaint started
afterwards gets the 3-hour deadline; one already running keeps 2 hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import drafts
from tests.browser.test_browser_login import log_in
from tests.procedure import support

TIMER = "timer_dispatch_overdue"


def accepted_and_dispatch_due(engine, instance_id: int) -> tuple[datetime, datetime]:
    data = engine.instance_data(instance_id)
    return datetime.fromisoformat(data["accepted_at"]), datetime.fromisoformat(data["dispatch_due"])


def record(engine, instance_id: int, phone: str) -> None:
    [task] = [task for task in engine.open_tasks(instance_id) if task.element_id == "task_record_complaint"]
    engine.complete_task(task.id, actor="intake", data=support.record(customer_phone=phone))


def test_owner_changes_the_dispatch_deadline_admin_deploys_running_complaints_keep_theirs(
    page, live_app, shoot
):
    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    running = engine.start(actor="intake").instance_id  # on v1, not yet at L2
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    # The process owner opens a draft of the current version.
    log_in(page, base, "owner")
    page.get_by_role("link", name="Modeler").click()
    page.get_by_label("Title").first.fill("L2: dispatch within 3 hours")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_selector("#modeler[data-ready='true']")
    assert page.get_attribute("#modeler", "data-warnings") == "0"  # the diagram imports cleanly
    shoot("draft-opened")

    # L2: the dispatch deadline, in the procedure config beside the diagram.
    config = page.input_value("#config")
    assert 'ordinary = "PT2H"' in config
    page.fill("#config", config.replace('ordinary = "PT2H"', 'ordinary = "PT3H"', 1))

    # Break the dispatch timer's expression: the server's error is pinned to the element.
    page.locator(f"g.djs-element[data-element-id='{TIMER}']").click(force=True)
    assert page.text_content("#prop-id") == TIMER
    assert page.input_value("#prop-timer") == "dispatch_due"
    page.fill("#prop-timer", "dispatch_due +")
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector(f".problem-badge[data-element-id='{TIMER}']")
    assert page.locator(f"g.djs-element.has-problem[data-element-id='{TIMER}']").count() == 1
    problem = page.locator(f"#problem-list li[data-element-id='{TIMER}']")
    assert "complaint.bpmn" in problem.text_content()
    shoot("error-pinned-to-the-timer")

    # Submitting now is refused, and nothing typed is lost.
    page.get_by_role("button", name="Submit for deployment").click()
    page.wait_for_selector("#modeler[data-ready='true']")
    assert "Not submitted" in page.text_content(".flash-error")
    assert 'ordinary = "PT3H"' in page.input_value("#config")
    page.wait_for_selector(f".problem-badge[data-element-id='{TIMER}']")

    # Fix it, save: valid.
    page.locator(f"g.djs-element[data-element-id='{TIMER}']").click(force=True)
    assert page.input_value("#prop-timer") == "dispatch_due +"
    page.fill("#prop-timer", "dispatch_due")
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector("#modeler[data-problems='0']")
    assert page.locator(".problem-badge").count() == 0
    page.get_by_role("button", name="Submit for deployment").click()
    page.wait_for_selector("text=Submitted: an admin can deploy it now.")
    shoot("submitted")
    page.get_by_role("button", name="Log out").click()

    # The admin deploys it and sees what changed.
    log_in(page, base, "admin")
    page.goto(f"{base}/modeler")
    page.locator("#drafts tr", has_text="dispatch within 3 hours").get_by_role(
        "button", name="Deploy"
    ).click()
    page.wait_for_selector("text=Deployed as v2")
    assert "dispatch_deadlines.ordinary: 'PT2H' -> 'PT3H'" in page.text_content("#diff-config")
    assert "No element changed" in page.text_content("#diff-elements")  # bpmn-js kept every element
    shoot("deployed-with-its-diff")
    assert errors == []

    # A new complaint gets 3 hours (L2); the running one keeps its version's 2 hours.
    fresh = engine.start(actor="intake").instance_id
    record(engine, fresh, "13800138000")
    record(engine, running, "13900139000")
    accepted, due = accepted_and_dispatch_due(engine, fresh)
    assert due - accepted == timedelta(hours=3)
    accepted, due = accepted_and_dispatch_due(engine, running)
    assert due - accepted == timedelta(hours=2)
    assert engine.instance(fresh).deployment_id != engine.instance(running).deployment_id


def test_the_side_panel_adds_and_removes_a_property_the_diagram_did_not_have(page, live_app, shoot):
    """A validator typed on a task without one becomes a new property; an unknown name is pinned."""
    task = "task_handle_reminder"
    log_in(page, live_app.config["BASE_URL"], "owner")
    page.goto(f"{live_app.config['BASE_URL']}/modeler")
    page.get_by_label("Title").first.fill("Reminders get a validator")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_selector("#modeler[data-ready='true']")
    page.get_by_label("Find element").fill(task)
    page.get_by_label("Find element").press("Enter")
    assert page.text_content("#prop-id") == task
    assert page.input_value("#prop-validator") == ""
    assert page.input_value("#prop-form") == "handle_reminder.json"
    page.fill("#prop-validator", "no_such_check")
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector(f".problem-badge[data-element-id='{task}']")
    assert "validator 'no_such_check' is not registered" in page.text_content("#problem-list")
    shoot("unknown-validator-pinned")

    page.locator(f"#problem-list li[data-element-id='{task}']").click()  # the problem leads to its element
    assert page.text_content("#prop-id") == task
    assert page.input_value("#prop-validator") == "no_such_check"  # the panel reads it from the diagram
    page.fill("#prop-validator", "")
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector("#modeler[data-problems='0']")
    [draft] = drafts.list_drafts(live_app.extensions["process_engine"])
    assert draft.problems == [] and b"no_such_check" not in draft.bundle.files["complaint.bpmn"]
    page.fill("#new-prop-name", "priority")
    page.fill("#new-prop-value", "10")
    page.get_by_role("button", name="Add", exact=True).click()
    assert page.input_value("#prop-others input[data-property='priority']") == "10"
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector("#modeler[data-revision='4']")
    [draft] = drafts.list_drafts(live_app.extensions["process_engine"])
    assert draft.problems == [] and b'name="priority" value="10"' in draft.bundle.files["complaint.bpmn"]


def test_a_new_department_lane_is_refused_until_its_group_is_set_in_the_panel(page, live_app, shoot):
    """The department lane renamed for billing: the lint names the lane; the panel writes its [lanes] line."""
    lane, billing = "lane_department", "处理部门（计费）Handling department (billing)"
    log_in(page, live_app.config["BASE_URL"], "owner")
    page.goto(f"{live_app.config['BASE_URL']}/modeler")
    page.get_by_label("Title").first.fill("Billing handles the department lane")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_selector("#modeler[data-ready='true']")
    page.get_by_label("Find element").fill(lane)
    page.get_by_label("Find element").press("Enter")
    assert page.input_value("#prop-group") == "dept:network"
    page.fill("#prop-name", billing)
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector(f".problem-badge[data-element-id='{lane}']")
    assert "is not in [lanes] of procedure.toml" in page.text_content("#problem-list")
    shoot("unmapped-lane-pinned")

    page.locator(f"#problem-list li[data-element-id='{lane}']").first.click()
    page.fill("#prop-group", "dept:billing")
    assert f'"{billing}" = "dept:billing"' in page.input_value("#config")
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector("#modeler[data-problems='0']")
    [draft] = drafts.list_drafts(live_app.extensions["process_engine"])
    assert f'"{billing}" = "dept:billing"'.encode() in draft.bundle.files["procedure.toml"]
    shoot("lane-mapped")


def test_a_refused_upload_lists_each_problem_by_element_and_stores_nothing(page, live_app, shoot):
    from tests.web.test_web_modeler_uploads import BUNDLES, zipped

    log_in(page, live_app.config["BASE_URL"], "owner")
    page.goto(f"{live_app.config['BASE_URL']}/modeler")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "refund.zip", "mimeType": "application/zip", "buffer": zipped(BUNDLES / "bizagi")}],
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    problems = page.locator("#upload-problems li")
    problems.first.wait_for()
    assert problems.count() == 2
    assert "Id_l0000000-0000-4000-8000-000000000002" in problems.nth(0).text_content()
    assert "user task has no form" in problems.nth(1).text_content()
    assert (
        page.locator("#drafts").count() == 0
        and drafts.list_drafts(live_app.extensions["process_engine"]) == []
    )
    shoot("upload-refused")
