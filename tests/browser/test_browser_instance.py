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
    # The page draws the map: the path the complaint is on (review and dispatch) is current.
    assert page.locator('.djs-element.current[data-element-id="call_review_dispatch"]').count() == 1
    assert page.get_by_text("Review and dispatch", exact=False).first.is_visible()
    shoot("instance-page")
    assert errors == []


def test_the_procedure_imports_into_bpmn_js_without_warnings_showing_every_element(page, live_app):
    """Issue 3: every diagram element with diagram interchange is drawn, with no import warning."""
    from pathlib import Path

    from lxml import etree

    engine = live_app.extensions["process_engine"]
    instance_id = engine.start(actor="intake").instance_id
    log_in(page, live_app.config["BASE_URL"], "supervisor")
    page.goto(f"{live_app.config['BASE_URL']}/instances/{instance_id}")
    page.wait_for_selector("#diagram[data-rendered]")
    assert page.get_attribute("#diagram", "data-warnings") == "0"
    diagram = etree.parse(str(Path(__file__).resolve().parents[2] / "bpmn" / "complaint.bpmn"))
    drawn = diagram.xpath("//*[local-name()='BPMNShape' or local-name()='BPMNEdge']/@bpmnElement")
    assert len(drawn) > 50
    shown = set(page.eval_on_selector_all("[data-element-id]", "els => els.map(e => e.dataset.elementId)"))
    assert sorted(set(drawn) - shown) == []
