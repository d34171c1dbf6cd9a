"""H4 evidence on the real work-order form, and the T6 escalation desk's board, in a real browser.

The complaint is recorded and dispatched through the engine; the department then works the
order in Chromium: a likely dispute without evidence is refused at the evidence field, an
uploaded file is ticked as evidence and the reply goes through. Screenshots in
test-artifacts/browser/.
"""

from __future__ import annotations

import hashlib

from tests.browser.test_browser_complaint_flow import complete, fill, open_from_inbox
from tests.browser.test_browser_login import log_in
from tests.procedure import support

REPORT = b"site report signed by the customer"


def test_h4_the_department_ticks_an_uploaded_file_as_evidence_of_a_likely_dispute(
    page, live_app, shoot, tmp_path
):
    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    instance_id = engine.start(actor="intake").instance_id
    support.complete(engine, instance_id, "task_record_complaint", support.record(), actor="intake")
    support.complete(engine, instance_id, "task_review_dispatch", support.dispatch(), actor="dispatcher")

    log_in(page, base, "network")
    open_from_inbox(page, base, "Handle the work order")
    fill(page, {**support.work_order_reply(), "dispute_likely": True})
    complete(page)
    error = page.locator("#error-evidence_refs")
    assert error.inner_text().startswith("H4: ")
    assert page.locator('[name="cause"]').input_value() == support.work_order_reply()["cause"], "typing kept"
    shoot("refused-without-evidence")

    upload = tmp_path / "site-report.txt"
    upload.write_bytes(REPORT)
    page.locator('input[type=file][name="evidence"]').set_input_files(str(upload))
    page.get_by_role("button", name="Attach").click()
    page.wait_for_load_state()
    reference = f"sha256:{hashlib.sha256(REPORT).hexdigest()}"
    fill(page, {**support.work_order_reply(), "dispute_likely": True, "evidence_refs": [reference]})
    shoot("evidence-ticked")
    complete(page)
    assert page.url.endswith("/inbox")
    data = engine.instance_data(instance_id)
    assert (data["dispute_likely"], data["evidence_refs"]) == (True, [reference])


def test_t6_the_escalation_desk_sees_the_open_escalated_complaint_on_its_board(page, live_app, shoot):
    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    instance_id = engine.start(actor="escalation", data={"received_by": "escalation_desk"}).instance_id
    record = support.record(
        channel="miit", complaint_types=["escalated"], outside_deadline="2026-11-28T12:00+08:00"
    )
    support.complete(engine, instance_id, "task_record_complaint", record, actor="escalation")

    log_in(page, base, "escalation")
    page.goto(f"{base}/inbox")
    page.get_by_role("link", name="Escalated complaints").click()
    row = page.locator("table.complaint-list tbody tr").first
    assert "2026-11-28 12:00" in row.inner_text() and "dispatch" in row.inner_text()
    shoot("escalation-board")
    row.get_by_role("link").first.click()
    assert "Outside deadline (T6)" in page.content()
