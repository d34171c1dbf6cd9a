"""Forms that fit the task and pages that fit a phone, in Chromium (issue 13).

The complaint is recorded and dispatched through the engine; the network department then
works its order in the browser: fields appear when their condition is chosen and a hidden
field is not sent, the error summary takes the focus, the date-time picker's value gets the
display zone's offset, and at 390 x 844 the inbox and the task page do not scroll sideways.
Screenshots in test-artifacts/browser/.
"""

from __future__ import annotations

import pytest

from tests.browser.test_browser_complaint_flow import complete, fill, open_from_inbox
from tests.browser.test_browser_login import log_in
from tests.procedure import support

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _dispatched(live_app, phone: str = "13800138000") -> int:
    engine = live_app.extensions["process_engine"]
    instance_id = engine.start(actor="intake").instance_id
    record = support.record(customer_phone=phone)
    support.complete(engine, instance_id, "task_record_complaint", record, actor="intake")
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch(), actor="dispatcher")
    return instance_id


def test_w4_a_field_appears_when_its_condition_is_chosen_and_a_hidden_one_is_not_sent(page, live_app, shoot):
    engine = live_app.extensions["process_engine"]
    instance_id = _dispatched(live_app)
    log_in(page, live_app.config["BASE_URL"], "network")
    open_from_inbox(page, live_app.config["BASE_URL"], "Handle the work order")
    measures = page.locator('[name="measures"]')
    assert not measures.is_visible() and measures.is_disabled()
    assert not page.locator('[name="extension_reason"]').is_visible()
    page.locator('input[type=checkbox][name="concentrated"]').check()
    assert measures.is_visible() and measures.is_enabled()
    shoot("concentrated-shows-w4-fields")
    measures.fill("typed, then the problem turned out not to be concentrated")
    page.locator('input[type=checkbox][name="concentrated"]').uncheck()
    assert not measures.is_visible()
    fill(page, support.work_order_reply())
    complete(page)
    assert page.url.endswith("/inbox")
    data = engine.instance_data(instance_id)
    assert data["concentrated"] is False and "measures" not in data


def test_the_error_summary_links_each_field_and_focuses_the_first(page, live_app, shoot):
    _dispatched(live_app)
    log_in(page, live_app.config["BASE_URL"], "network")
    open_from_inbox(page, live_app.config["BASE_URL"], "Handle the work order")
    complete(page)
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    links = summary.locator("a")
    assert links.count() >= 3 and links.first.get_attribute("href") == "#f-cause"
    assert page.evaluate("document.activeElement.id") == "f-cause"
    shoot("error-summary")
    summary.locator('a[href="#f-customer_attitude"]').click()
    assert page.url.endswith("#f-customer_attitude")


def test_e3_the_date_time_picker_value_gets_the_display_zones_offset(page, live_app, shoot):
    engine = live_app.extensions["process_engine"]
    instance_id = _dispatched(live_app)
    log_in(page, live_app.config["BASE_URL"], "network")
    open_from_inbox(page, live_app.config["BASE_URL"], "Handle the work order")
    page.locator('input[type=checkbox][name="request_extension"]').check()
    assert not page.locator('[name="cause"]').is_visible()  # the reply's fields give way
    until = page.locator('[name="extension_until"]')
    assert until.get_attribute("type") == "datetime-local"
    fill(page, support.extension_request("2026-12-06T18:00:00+08:00"))
    shoot("extension-with-picker")
    complete(page)
    assert page.url.endswith("/inbox")
    assert engine.instance_data(instance_id)["extension_until"] == "2026-12-06T18:00:00+08:00"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_at_390_px_the_inbox_and_the_task_page_do_not_scroll_sideways(page, live_app, shoot, language):
    _dispatched(live_app)
    _dispatched(live_app, phone="13900139000")
    base = live_app.config["BASE_URL"]
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, base, "network")
    page.goto(f"{base}/language/{language}")
    page.goto(f"{base}/inbox")
    assert page.locator("table.inbox tbody tr").count() == 2
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate("document.documentElement.scrollWidth")
    assert page.locator("table.inbox thead").is_hidden()  # cards, not the wide table
    shoot(f"inbox-390-{language}")
    page.locator("table.inbox tbody tr a").first.click()
    page.wait_for_selector("form button[value=complete]")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), page.evaluate("document.documentElement.scrollWidth")
    shoot(f"task-390-{language}")
