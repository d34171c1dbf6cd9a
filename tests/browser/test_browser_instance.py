"""The complaint page draws the procedure with bpmn-js and marks where the complaint is (real Chromium)."""

from __future__ import annotations

from tests.browser.test_browser_login import log_in
from tests.procedure import support


def test_the_diagram_marks_done_and_current_elements(page, live_app, shoot):
    engine = live_app.extensions["process_engine"]
    result = engine.start(actor="intake")
    [record_task] = result.opened_task_ids
    engine.complete_task(record_task, actor="intake", data=support.record())
    base = live_app.config["BASE_URL"]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base, "supervisor")
    page.goto(f"{base}/instances/{result.instance_id}")
    page.wait_for_selector("#diagram[data-rendered]")
    assert page.get_attribute("#diagram", "data-rendered") == "true"
    assert page.locator(".djs-element.done").count() >= 2  # start event and the recorded intake
    assert page.locator('.djs-element.current[data-element-id="task_review_dispatch"]').count() == 1
    assert page.get_by_text("Review and dispatch", exact=False).first.is_visible()
    shoot("instance-page")
    assert errors == []
