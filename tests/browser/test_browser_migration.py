"""The migration page in real Chromium: an admin maps a renamed task, dry-runs, applies in the
background, watches the progress bar reach the end, and reverts the run."""

from __future__ import annotations

from tests.browser.test_browser_login import log_in
from tests.engine.test_migration_running import RENAMED_FROM, RENAMED_TO, SERIOUS, dispatched, v2_bundle
from tests.procedure.support import at


def test_an_admin_maps_a_renamed_task_dry_runs_applies_watches_progress_and_reverts(
    page, live_app, clock, shoot, tmp_path
):
    engine = live_app.extensions["process_engine"]
    waiting = dispatched(engine)
    clock.set(at(27, 10))
    watched = dispatched(engine, **SERIOUS)
    clock.set(at(28, 10, 0, 1))
    engine.fire_all_due()  # the impact watch opens its assessment
    assert RENAMED_FROM in {task.element_id for task in engine.open_tasks(watched)}
    engine.deploy(v2_bundle(tmp_path), actor="admin")
    base = live_app.config["BASE_URL"]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    log_in(page, base, "admin")
    page.goto(f"{base}/admin/migration?from=1&to=2")
    summary = page.locator("#summary").text_content()
    assert "1 blocked" in summary
    assert "is open and does not exist in v2" in page.locator(".blockers").first.text_content()
    shoot("blocked-without-a-plan")

    page.select_option(f"select[name='map.{RENAMED_FROM}']", RENAMED_TO)
    page.get_by_role("button", name="Check the plan and dry run").click()
    assert page.locator("#summary").text_content().strip() == "2 movable"
    shoot("dry-run-with-the-plan")

    page.click("#apply")
    page.wait_for_selector("#run-status:has-text('Done.')")
    assert page.eval_on_selector("#run-progress", "bar => bar.value") == 100
    assert page.locator("[data-field='moved']").text_content() == "2"
    shoot("run-done")
    for instance_id in (waiting, watched):
        assert engine.runtime(engine.instance(instance_id).deployment_id).version == 2
    assert RENAMED_TO in {task.element_id for task in engine.open_tasks(watched)}

    page.click("#revert")
    assert "2 reverted, 0 refused" in page.locator("#summary").text_content()
    shoot("reverted")
    for instance_id in (waiting, watched):
        assert engine.instance(instance_id).deployment_id == 1
    assert errors == []
