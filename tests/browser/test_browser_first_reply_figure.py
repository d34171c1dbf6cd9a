"""Issue 10 done-when, in Chromium: "Changing L1 to 12 h in the modeler and deploying gives 12 h in
the breach row, the warning and the report".

L1 (first reply within 24 h of receipt) is the timer ``start_first_reply_due`` on the map
(complaint.bpmn); it reads its span through ``deadline_span("first_reply_deadline")`` and the
deploy writes its label from the same figure. The owner changes the figure to 12 h in the
modeler's settings form, the admin deploys, and a complaint received Friday 09:00 (simulated clock)
is due its first reply at 21:00 everywhere: the label on the complaint page's map, the page's
clock row, the bell's warning at 18:00 (75 %), the at-risk report, the breach recorded at 21:00
and the on-time rate (told at 22:00: missed by 60 min, where 24 h would have been met).

The modeler steps are small functions (open a draft, set a figure, submit, deploy).
"""

from __future__ import annotations

from datetime import datetime

from playwright.sync_api import expect

from tests.browser.test_browser_login import log_in
from tests.procedure import support
from tests.procedure.support import at
from web import notifications

L1_TIMER = "start_first_reply_due"  # L1, on the map (complaint.bpmn)
TITLE = "L1: first reply within 12 hours"
DUE = "2026-11-27 21:00 +08:00"  # received Friday 09:00 Shanghai + 12 h
WARN = "2026-11-27 18:00 +08:00"  # 75 % of 12 h ([warnings] default)


def open_draft(page, base: str, title: str) -> None:
    """The process owner opens a draft of the deployed version in the modeler."""
    log_in(page, base, "owner")
    page.goto(f"{base}/modeler")
    page.get_by_label("Title").first.fill(title)
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_selector("#modeler[data-ready='true']")


def set_figure(page, path: str, old_hours: int, new_hours: int) -> None:
    """Set the figure at ``path`` (``table.key`` of procedure.toml) in the settings form, as an
    owner does: the hours box of its duration picker."""
    page.click("#tab-button-settings")
    page.wait_for_selector("#settings[data-ready='true']")
    hours = page.locator(f"input.hours[data-path='{path}']")
    assert hours.input_value() == str(old_hours), f"{path} is not {old_hours} h in the draft's settings"
    hours.fill(str(new_hours))
    hours.press("Tab")


def save(page) -> None:
    """Save and validate; waits for the server's answer (the next revision), which has no problem."""
    revision = int(page.get_attribute("#modeler", "data-revision"))
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector(f"#modeler[data-revision='{revision + 1}']")
    assert page.get_attribute("#modeler", "data-problems") == "0", page.text_content("#problem-list")


def submit(page) -> None:
    page.get_by_role("button", name="Submit for deployment").click()
    page.wait_for_selector("text=Submitted: an admin can deploy it now.")
    page.get_by_role("button", name="Log out").click()


def deploy(page, base: str, title: str) -> str:
    """The admin deploys the submitted draft; returns the config diff shown."""
    log_in(page, base, "admin")
    page.goto(f"{base}/modeler")
    page.locator("#drafts tr", has_text=title).get_by_role("button", name="Deploy").click()
    page.wait_for_selector("text=Deployed as v2")
    diff = page.text_content("#diff-config")
    page.get_by_role("button", name="Log out").click()
    return diff


def clock_row(page, clock: str):
    return page.locator(f"table.clocks tr[data-clock='{clock}']")


def report_row(page, table: str, *texts: str):
    """The rows of a report table holding every one of ``texts``."""
    rows = page.locator(f"#table-{table} tbody tr")
    for text in texts:
        rows = rows.filter(has_text=text)
    return rows


def test_l1_changed_to_12_hours_in_the_modeler_gives_12_hours_everywhere(page, live_app, clock, shoot):
    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    # The owner changes L1's figure; the saved draft's L1 timer label follows it on the canvas.
    open_draft(page, base, TITLE)
    set_figure(page, "first_reply_deadline.span", 24, 12)
    save(page)
    page.select_option("#diagram-file", "complaint.bpmn")
    page.wait_for_selector("#modeler[data-diagram='complaint.bpmn']")
    expect(page.locator(f"g.djs-element[data-element-id='{L1_TIMER}_label']")).to_have_text("L1 12小时 12 h")
    shoot("l1-label-in-the-draft")
    submit(page)
    assert "first_reply_deadline.span: 'PT24H' -> 'PT12H'" in deploy(page, base, TITLE)

    # A complaint received Friday 09:00 on v2 (the intake records it).
    instance_id = engine.start(actor="intake").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record(), actor="intake")
    number = support.complaint_row(engine, instance_id).number

    # 18:00, 75 % of 12 h: the sweep warns the first-contact owner; the bell lists the 21:00 due.
    clock.set(at(27, 17, 59))
    with live_app.app_context():
        assert notifications.sweep(engine, clock.now()) == 0
    clock.set(at(27, 18))
    with live_app.app_context():
        assert notifications.sweep(engine, clock.now()) == 1
    log_in(page, base, "intake")
    page.goto(f"{base}/notifications")
    warning = page.locator("table.notifications tr[data-clock='L1']")
    assert warning.count() == 1
    assert "is about to pass" in warning.inner_text() and number in warning.inner_text()
    assert DUE in warning.inner_text()
    shoot("warning-for-the-12-hour-due")
    page.get_by_role("button", name="Log out").click()

    # The supervisor: the map's L1 label, the page's clock row and the at-risk report say 21:00.
    log_in(page, base, "supervisor")
    page.goto(f"{base}/instances/{instance_id}")
    page.wait_for_selector('#diagram[data-rendered="true"][data-scope=""]')
    label = page.text_content(f"#diagram g.djs-element[data-element-id='{L1_TIMER}_label']")
    assert label == "L1 12小时 12 h"
    assert "24" not in page.text_content("#diagram g.djs-element[data-element-id='sub_first_reply']")
    row = clock_row(page, "L1")
    assert datetime.fromisoformat(row.get_attribute("data-due")) == at(27, 21)
    assert datetime.fromisoformat(row.get_attribute("data-warn-at")) == at(27, 18)
    assert row.get_attribute("class") == "soon"
    assert WARN in row.inner_text() and DUE in row.inner_text()
    shoot("complaint-page-l1-due-21h")
    page.goto(f"{base}/reports")
    risk = report_row(page, "at_risk", number, "L1 ")
    assert risk.count() == 1
    assert "2026-11-27T21:00+08:00" in risk.inner_text() and "about to breach" in risk.inner_text()

    # 21:00: the L1 timer fires; the breach row says due 21:00, and the report shows it overdue.
    clock.set(at(27, 21, 0, 1))
    assert engine.fire_all_due() == 1
    assert [b["due"] for b in support.breaches(engine, instance_id) if b["clock"] == "L1"] == [at(27, 21)]
    page.goto(f"{base}/instances/{instance_id}")
    breach = page.locator("li", has_text="breached").filter(has_text="L1 ")
    assert breach.count() == 1 and f"due {DUE}" in breach.inner_text()
    assert clock_row(page, "L1").get_attribute("class") == "overdue"
    page.goto(f"{base}/reports")
    risk = report_row(page, "at_risk", number, "L1 ")
    assert "2026-11-27T21:00+08:00" in risk.inner_text() and "overdue" in risk.inner_text()
    shoot("reports-l1-overdue")
    page.get_by_role("button", name="Log out").click()

    # 22:00 the intake tells the customer the progress (L1's stop): missed by 60 min, which
    # 24 h would have counted as met; the on-time rate counts it missed.
    clock.set(at(27, 22))
    log_in(page, base, "intake")
    page.goto(f"{base}/instances/{instance_id}")
    page.get_by_label("Told the customer the progress (L1)").fill("Engineer booked for tomorrow 10:00")
    page.get_by_role("button", name="Record").click()
    page.wait_for_selector("text=Recorded: the customer was told the progress.")
    assert "missed by 60 min" in clock_row(page, "L1").inner_text()
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "supervisor")
    page.goto(f"{base}/reports?from=2026-11-27&to=2026-11-27")
    on_time = [cell.strip() for cell in report_row(page, "on_time", "L1 ").locator("td").all_inner_texts()]
    assert on_time[1:] == ["1", "0", "1", "0.0", "60.0", "0"], on_time
    shoot("on-time-l1-missed-by-60-min")
    assert errors == []
