"""Issue 17: the process owner edits figures, forms and calendars as forms, in Chinese.

Real Chromium, the real bpmn/ bundle and engine, no raw JSON or TOML on the page by default.
"""

from __future__ import annotations

from tests.browser.test_browser_login import log_in

TIMER = "timer_dispatch_overdue"  # L2
TIMER_FILE = "review_dispatch.bpmn"


def open_new_draft(page, base: str, title: str) -> None:
    log_in(page, base, "owner")
    page.goto(f"{base}/language/zh")
    page.goto(f"{base}/modeler")
    page.locator("input[name=title]").first.fill(title)
    page.locator("#new-draft button[type=submit]").click()
    page.wait_for_selector("#modeler[data-ready='true']")
    page.wait_for_selector("#settings[data-ready='true']")


def find(page, element_id: str, diagram: str) -> None:
    page.fill("#find-element", element_id)
    page.press("#find-element", "Enter")
    page.wait_for_selector(f"#modeler[data-diagram='{diagram}']")
    page.wait_for_function(f"() => document.querySelector('#prop-id').textContent === '{element_id}'")


def label_of(page, element_id: str) -> str:
    return page.text_content(f"g.djs-element[data-element-id='{element_id}_label']") or ""


def test_settings_l2_figure_relabels_the_timer_at_once(page, live_app, shoot):
    base = live_app.config["BASE_URL"]
    open_new_draft(page, base, "L2 三小时")
    find(page, TIMER, TIMER_FILE)
    assert "2小时，紧急30分钟" in label_of(page, TIMER)
    hours = page.locator("input.hours[data-path='dispatch_deadlines.ordinary']")
    assert hours.input_value() == "2"
    hours.fill("3")
    hours.press("Tab")
    label = f"g.djs-element[data-element-id='{TIMER}_label']"
    page.wait_for_function(f'() => document.querySelector("{label}").textContent.includes("3小时")')
    assert "L2 3小时，紧急30分钟 3 h" in label_of(page, TIMER)  # tspans: line breaks lose spaces
    assert 'ordinary = "PT3H"' in page.input_value("#config")
    shoot("l2-relabelled")
    page.locator("#editor-tabs").screenshot(path="/tmp/ed/settings.png")
