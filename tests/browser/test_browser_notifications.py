"""The bell shows warnings before a breach (L2), the page lists them, marking read clears the count."""

from __future__ import annotations

from tests.browser.test_browser_login import log_in
from tests.procedure import support
from tests.procedure.support import at
from web import notifications


def test_the_bell_counts_a_warning_and_reading_it_clears_it(page, live_app, clock, shoot):
    base = live_app.config["BASE_URL"]
    engine = live_app.extensions["process_engine"]
    instance_id = engine.start(actor="intake").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record(), actor="intake")
    clock.set(at(27, 10, 30))  # 75 % of the two hours L2 gives the dispatch
    with live_app.app_context():
        assert notifications.sweep(engine, clock.now()) == 1

    log_in(page, base, "dispatcher")
    page.wait_for_url(base + "/")
    bell = page.locator("a.bell")
    assert bell.is_visible()
    assert bell.locator(".count").inner_text() == "1"
    assert "unread" in (bell.get_attribute("class") or "")
    shoot("bell-with-one-warning")

    bell.click()
    page.wait_for_url(base + "/notifications")
    row = page.locator("table.notifications tr.unread")
    assert row.count() == 1
    assert "Deadline L2 Review and dispatch is about to pass" in row.inner_text()
    assert "TS-20261127-0001" in row.inner_text()
    shoot("notifications-page")

    row.get_by_role("button", name="Mark as read").click()
    page.wait_for_url(base + "/notifications")
    assert page.locator("a.bell .count").inner_text() == "0"
    assert page.locator("table.notifications tr.read").count() == 1
    shoot("read")
