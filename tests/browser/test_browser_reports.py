"""The reports page in real Chromium: chart.js charts, the heat map on the diagram, a CSV download."""

from __future__ import annotations

import csv
import io

from tests.browser.test_browser_login import log_in
from tests.procedure import support
from tests.procedure.support import at


def closed_complaint(engine, clock) -> None:
    """L2 30 min late (dispatched 11:30, due 11:00), everything else on time, closed Saturday 11:00."""
    instance_id = engine.start(actor="intake").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record())
    clock.set(at(27, 11, 30))
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)
    clock.set(at(28, 9))
    support.complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    support.complete(engine, instance_id, "task_review_reply", support.review())
    support.complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    clock.set(at(28, 11))
    support.complete(engine, instance_id, "task_return_visit", support.return_visit())


def test_a_supervisor_sees_the_charts_and_the_heat_map_and_downloads_a_csv(page, live_app, clock, shoot):
    engine = live_app.extensions["process_engine"]
    closed_complaint(engine, clock)
    base = live_app.config["BASE_URL"]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base, "supervisor")
    page.click("text=Reports")
    page.wait_for_selector("body[data-charts='3']")
    page.wait_for_selector("#heat-diagram[data-rendered]")
    assert page.get_attribute("#heat-diagram", "data-rendered") == "true"
    # The map: one badge per path the complaint took (first contact, review and dispatch,
    # handling, reply, return visit), each summing the tasks of its diagram.
    placed = page.eval_on_selector_all(".heat-badge", "els => els.map(e => e.dataset.element)")
    assert int(page.get_attribute("#heat-diagram", "data-overlays")) == 5, placed
    dispatch_badge = page.locator(".heat-badge[data-element='call_review_dispatch']")
    assert dispatch_badge.text_content() == "150 min × 1⚠ 1"  # 2.5 h taken, once late (L2)
    chart = "document.getElementById('chart-on-time').chart.data"
    on_time = page.evaluate(f"() => [{chart}.labels, {chart}.datasets[0].data]")
    # every clock its timer measures, in the order the procedure runs into them (the catalogue)
    assert [str(label).split()[0] for label in on_time[0]] == ["L1", "L3", "L2", "L4", "E4", "R4"], on_time
    assert on_time[1] == [100, 100, 0, 100, 100, 100], "L2 30 min late, the others met"
    shoot("reports-page")

    with page.expect_download() as download_info:
        page.locator("#table-on_time a", has_text="CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("on_time-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as saved:
        rows = list(csv.reader(io.StringIO(saved.read())))
    assert rows[3] == ["L2 Review and dispatch", "1", "0", "1", "0.0", "30.0", "0"]  # after L1 and L3
    assert errors == []
