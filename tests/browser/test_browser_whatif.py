"""Issue 14.3 done: the process owner changes L2 from 2 h to 3 h and sees, on the draft's page, what it does.

Real Chromium, the real app and bpmn/ bundle. History, built by hand
(``whatif_support.dispatch_history``): four ordinary dispatches of 2h10, 1h50, 3h20 and 0h30
closed this week: 2 of 4 on time under 2 h, 3 of 4 under 3 h. One complaint is running with
its L4 due today at 12:00 (Friday 09:00 now), so it is overdue within the day either way.
"""

from __future__ import annotations

from tests.browser.test_browser_login import log_in
from tests.procedure.support import at
from tests.procedure.whatif_support import H, complaint, dispatch_history, took


def test_owner_sees_the_dispatch_on_time_rate_under_a_three_hour_l2_before_asking_for_deployment(
    page, live_app, shoot
):
    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    with engine.writer() as session, session.begin():
        dispatch_history(session.connection())
        complaint(session.connection(), 205, [took("L4", at(25, 12), 48 * H, None)])
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    log_in(page, base, "owner")
    page.get_by_role("link", name="Modeler").click()
    page.get_by_label("Title").first.fill("L2: dispatch within 3 hours")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_selector("#modeler[data-ready='true']")
    page.check("#advanced")  # the raw text of procedure.toml
    config = page.input_value("#config")
    page.fill("#config", config.replace('ordinary = "PT2H"', 'ordinary = "PT3H"', 1))
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector("#modeler[data-revision='2'][data-problems='0']")  # saved, valid

    # On the draft's page: the what-if over the last 30 days.
    page.get_by_label("What if it were deployed: days of history").fill("30")
    page.get_by_role("button", name="Show what-if").click()
    page.wait_for_selector("#whatif-clocks")
    l2 = page.locator("#whatif-clocks tr[data-clock='L2']")
    assert "L2 Review and dispatch" in l2.text_content()
    assert l2.locator("td.num").nth(0).text_content().strip() == "4"
    assert l2.locator("td.actual").text_content().strip() == "50.0 % (2/4)"
    assert l2.locator("td.draft").text_content().strip() == "75.0 % (3/4)"
    assert l2.locator("td.difference").text_content().strip() == "+25.0"
    assert page.locator("#whatif-clocks tbody tr").count() == 1
    soon = page.locator("#whatif-soon tr[data-clock='L4']")
    assert "TS-20261101-0205" in soon.text_content()
    assert page.text_content("#whatif-overdue").strip() == "None."
    shoot("whatif-30-days")

    # 60 days reach the complaint closed 40 days ago; a bad number is refused, naming the field.
    page.get_by_label("Days of history").fill("60")
    page.get_by_role("button", name="Replay").click()
    page.wait_for_selector("#whatif-clocks")
    assert (
        page.locator("#whatif-clocks tr[data-clock='L2'] td.draft").text_content().strip() == "80.0 % (4/5)"
    )
    assert errors == []  # before the refused request below, which the console reports as a 400
    page.goto(page.url.replace("days=60", "days=400"))
    assert "days: a whole number from 1 to 365" in page.text_content("body")

    # The same page in Chinese.
    whatif_url = page.url.replace("days=400", "days=30")
    page.goto(f"{base}/language/zh")
    page.goto(whatif_url)
    page.wait_for_selector("#whatif-clocks")
    assert "按草稿及时" in page.text_content("#whatif-clocks thead")
    assert (
        page.locator("#whatif-clocks tr[data-clock='L2'] td.draft").text_content().strip() == "75.0 % (3/4)"
    )
    shoot("whatif-in-chinese")
