"""T2 at intake in a real browser: typing a phone shows the customer's running complaint,
one click links the call to it, and completing the record reminds that complaint."""

from __future__ import annotations

from tests.browser.test_browser_login import log_in
from tests.procedure import support


def test_typing_the_phone_shows_the_running_complaint_and_links_the_call(page, live_app, shoot):
    engine = live_app.extensions["process_engine"]
    running = engine.start(actor="intake").instance_id
    support.complete(engine, running, "task_record_complaint", support.record())
    support.complete(engine, running, "task_review_dispatch", support.dispatch())
    number = engine.instance(running).business_key
    base = live_app.config["BASE_URL"]

    log_in(page, base, "intake")
    page.goto(f"{base}/inbox")
    page.get_by_role("button", name="New complaint").click()
    page.wait_for_selector("#f-customer_phone")
    page.locator("#f-customer_phone").press_sequentially(support.record()["customer_phone"])
    found = page.locator(f'#intake-lookup li[data-number="{number}"]')
    found.wait_for()
    shoot("lookup-shows-the-running-complaint")
    found.locator("button[data-action=t2]").click()
    assert page.locator('[name="repeat_of"]').input_value() == number

    record = support.record(description="Chasing: still no broadband")
    for name in ("customer_name", "description"):
        page.locator(f'[name="{name}"]').fill(record[name])
    page.locator('[name="channel"]').select_option(record["channel"])
    page.locator('[name="business_category"]').select_option(record["business_category"])
    page.locator('[name="nature_category"]').select_option(record["nature_category"])
    page.locator('input[name="complaint_types"][value="ordinary"]').check()
    page.locator("button[value=complete]").click()
    page.wait_for_load_state()
    shoot("merged-and-reminded")
    assert sorted(t.element_id for t in engine.open_tasks(running)) == [
        "task_handle_order",
        "task_handle_reminder",
    ]
