"""Issue 17: the process owner edits figures, forms and calendars as forms, in Chinese.

Real Chromium, the real bpmn/ bundle and engine, no raw JSON or TOML on the page by default.
"""

from __future__ import annotations

from playwright.sync_api import expect

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
    # The panel speaks the owner's language and offers choices, no Python expression for a deadline.
    assert page.text_content("label[for=prop-clock]") == "时限编号（所计的规则）"
    assert page.input_value("#prop-clock") == "L2"
    assert page.input_value("#prop-figure") == "dispatch_deadlines"
    assert "review_deadlines.plan_approval" in page.eval_on_selector_all(
        "#prop-figure option", "nodes => nodes.map(n => n.value)"
    )
    assert page.locator("#prop-timer").is_hidden()
    hours = page.locator("input.hours[data-path='dispatch_deadlines.ordinary']")
    assert hours.input_value() == "2"
    assert "network" in page.text_content("#settings-departments td.people[data-group='dept:network']")
    hours.fill("3")
    hours.press("Tab")
    label = f"g.djs-element[data-element-id='{TIMER}_label']"
    page.wait_for_function(f'() => document.querySelector("{label}").textContent.includes("3小时")')
    assert "L2 3小时，紧急30分钟 3 h" in label_of(page, TIMER)  # tspans: line breaks lose spaces
    assert 'ordinary = "PT3H"' in page.input_value("#config")
    shoot("l2-relabelled")


def add_field(page, name: str, kind: str, zh: str, en: str) -> None:
    page.click("#add-field")
    row = page.locator("#form-fields li.form-field").last
    row.locator("[data-part=name]").fill(name)
    row.locator("[data-part=name]").press("Tab")
    row = page.locator(f"#form-fields li.form-field[data-name='{name}']")
    row.locator("[data-part=type]").select_option(kind)
    row = page.locator(f"#form-fields li.form-field[data-name='{name}']")
    row.locator("[data-part=zh]").fill(zh)
    row.locator("[data-part=zh]").press("Tab")
    row.locator("[data-part=en]").fill(en)
    row.locator("[data-part=en]").press("Tab")


def add_choice_and_conditional_field(page) -> None:
    """The dispatcher's form (L2) gets a choice and a field shown only when one option is picked."""
    page.click("#tab-button-forms")
    page.select_option("#form-file", "review_dispatch.json")
    add_field(page, "contact_channel", "choice", "联系方式", "Contact by")
    row = page.locator("#form-fields li.form-field[data-name='contact_channel']")
    for value, zh, en in (("phone", "电话", "Phone"), ("sms", "短信", "Text message")):
        row.locator("[data-action=add-option]").click()
        row = page.locator("#form-fields li.form-field[data-name='contact_channel']")
        option = row.locator(".field-options li").last
        option.locator("[data-part=option-value]").fill(value)
        option.locator("[data-part=option-value]").press("Tab")
        option.locator("[data-part=option-zh]").fill(zh)
        option.locator("[data-part=option-zh]").press("Tab")
        option.locator("[data-part=option-en]").fill(en)
        option.locator("[data-part=option-en]").press("Tab")
    add_field(page, "callback_number", "text", "回拨号码", "Call-back number")
    row = page.locator("#form-fields li.form-field[data-name='callback_number']")
    row.locator("[data-part=when-field]").select_option("contact_channel")
    row = page.locator("#form-fields li.form-field[data-name='callback_number']")
    row.locator("[data-part=when-value]").select_option('"phone"')


def test_the_form_editor_writes_a_choice_and_a_conditional_field_and_previews_them(page, live_app, shoot):
    import json

    base = live_app.config["BASE_URL"]
    open_new_draft(page, base, "联系方式")
    add_choice_and_conditional_field(page)
    preview = page.locator("#form-preview")
    callback = preview.locator(".preview-field[data-name='callback_number']")
    assert callback.is_hidden()
    preview.locator("select[name=contact_channel]").select_option("phone")
    assert callback.is_visible()
    assert "回拨号码" in callback.text_content()
    preview.locator("select[name=contact_channel]").select_option("sms")
    assert callback.is_hidden()
    page.select_option("#preview-language", "en")
    assert "Contact by" in preview.text_content()
    shoot("form-editor")
    page.check("#advanced")
    schema = json.loads(page.input_value("#form-text"))
    assert schema["properties"]["contact_channel"]["oneOf"] == [
        {"const": "phone", "title": "电话 Phone"},
        {"const": "sms", "title": "短信 Text message"},
    ]
    assert schema["properties"]["callback_number"]["title"] == "回拨号码 Call-back number"
    assert schema["allOf"] == [
        {
            "if": {"properties": {"contact_channel": {"const": "phone"}}, "required": ["contact_channel"]},
            "then": {"properties": {"callback_number": True}},
        }
    ]
    assert schema["required"] == ["department"]  # the form's own required field kept


def add_holiday_and_see_the_tester_move(page) -> None:
    """R4's reply calendar: Friday 19:00 + 2 working hours is Saturday 09:00; Saturday a holiday: Sunday."""
    page.click("#tab-button-calendars")
    page.wait_for_selector("#calendars[data-ready='true']")
    page.fill("#tester-start", "2026-12-04T19:00")
    page.fill("#tester-hours", "2")
    page.fill("#tester-minutes", "0")
    page.click("#tester-run")
    page.wait_for_function("() => (document.querySelector('#tester-due') || {}).textContent")
    assert page.text_content("#tester-due").startswith("2026-12-05 09:00")
    assert page.locator("#tester-windows li").all_text_contents() == [
        "2026-12-04 19:00 – 20:00",
        "2026-12-05 08:00 – 09:00",
    ]
    page.fill("#calendar-holidays ~ input[type=date]", "2026-12-05")
    page.click("[data-action=add-holidays]")
    page.wait_for_selector("#calendar-holidays li[data-date='2026-12-05']")
    page.wait_for_function(
        "() => (document.querySelector('#tester-due') || {}).textContent?.startsWith('2026-12-06')"
    )
    assert page.text_content("#tester-due").startswith("2026-12-06 09:00")
    assert 'holidays = ["2026-12-05"]' in page.input_value("#config")


def test_the_calendar_tab_shows_the_week_and_a_holiday_moves_the_testers_due_instant(page, live_app, shoot):
    base = live_app.config["BASE_URL"]
    open_new_draft(page, base, "国庆")
    page.click("#tab-button-calendars")
    page.wait_for_selector("#calendars[data-ready='true']")
    # The week view: every day 08:00-12:00 and 14:30-20:00; lunch is a break.
    assert page.locator("#week-view .week-day").count() == 7
    assert page.locator("#week-view .week-day[data-day='sun'] .week-window").all_text_contents() == [
        "08:00-12:00",
        "14:30-20:00",
    ]
    assert "12:00-14:30" in page.text_content("#calendar-breaks")
    # A weekday's own windows: Saturday mornings only (then back to every day's).
    page.fill("input.week-own[data-day='sat']", "08:00-10:00")
    page.press("input.week-own[data-day='sat']", "Tab")
    sat = "#week-view .week-day[data-day='sat'] .week-window"
    page.wait_for_function(f"() => document.querySelectorAll(\"{sat}\").length === 1")
    assert page.text_content(sat) == "08:00-10:00"
    page.fill("input.week-own[data-day='sat']", "")
    page.press("input.week-own[data-day='sat']", "Tab")
    page.wait_for_function(f"() => document.querySelectorAll(\"{sat}\").length === 2")
    page.fill("#year-view input[type=number]", "2026")
    page.press("#year-view input[type=number]", "Tab")
    add_holiday_and_see_the_tester_move(page)
    page.fill("#year-view input[type=number]", "2026")
    page.press("#year-view input[type=number]", "Tab")
    assert page.locator("#year-view .year-day.holiday[data-date='2026-12-05']").count() == 1
    shoot("calendar-holiday")


def test_owner_in_chinese_edits_form_figure_and_calendar_admin_deploys_agent_and_complaint_follow(
    page, live_app, shoot
):
    """The issue's Done-when, end to end on the real bundle and engine."""
    from datetime import datetime, timedelta

    from tests.browser.test_browser_modeler import record

    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    open_new_draft(page, base, "联系方式、L2 三小时、节假日")
    assert page.text_content("#tab-button-settings") == "设置"
    assert_no_raw_text(page)

    add_choice_and_conditional_field(page)
    page.click("#tab-button-settings")
    find(page, TIMER, TIMER_FILE)
    hours = page.locator("input.hours[data-path='dispatch_deadlines.ordinary']")
    hours.fill("3")
    hours.press("Tab")
    label = f"g.djs-element[data-element-id='{TIMER}_label']"
    page.wait_for_function(f'() => document.querySelector("{label}").textContent.includes("3小时")')
    add_holiday_and_see_the_tester_move(page)
    shoot("owner-edited")

    page.click("#save")
    page.wait_for_selector("#modeler[data-revision='2'][data-problems='0']")
    page.click("#submit")
    page.wait_for_selector("#modeler[data-ready='true']")
    assert page.text_content("#draft-status") == "已提交"
    page.locator("header form button[type=submit]").click()  # log out

    # The admin deploys it.
    log_in(page, base, "admin")
    page.goto(f"{base}/modeler")
    page.locator("#drafts tr", has_text="联系方式").locator("button.primary").click()
    page.wait_for_url("**/admin/versions**")
    page.locator("header form button[type=submit]").click()

    # A new complaint gets the 3 h L2 deadline; the dispatcher's form has the new fields.
    fresh = engine.start(actor="intake").instance_id
    record(engine, fresh, "13800138000")
    data = engine.instance_data(fresh)
    due = datetime.fromisoformat(data["dispatch_due"]) - datetime.fromisoformat(data["accepted_at"])
    assert due == timedelta(hours=3)
    schema = engine.runtime(engine.instance(fresh).deployment_id).forms["review_dispatch.json"]
    assert schema["allOf"][-1]["if"]["properties"] == {"contact_channel": {"const": "phone"}}
    [task] = [t for t in engine.open_tasks(fresh) if t.element_id == "task_review_dispatch"]
    log_in(page, base, "dispatcher")
    page.goto(f"{base}/tasks/{task.id}")
    options = page.eval_on_selector_all(
        "select[name=contact_channel] option", "nodes => nodes.map(n => n.value)"
    )
    assert options[-2:] == ["phone", "sms"]
    callback = page.locator("[name=callback_number]")
    assert callback.count() == 1
    expect(callback).to_be_hidden()  # shown only when "phone" is picked, as the owner drew it
    page.select_option("select[name=contact_channel]", "sms")
    expect(callback).to_be_hidden()
    page.select_option("select[name=contact_channel]", "phone")
    expect(callback).to_be_visible()
    shoot("agent-task-page")
    assert errors == []


def assert_no_raw_text(page) -> None:
    """With default settings the owner's editor shows no raw JSON or TOML text."""
    assert page.locator("#config").is_hidden() and page.locator("#form-text").is_hidden()
    for tab in ("settings", "forms", "calendars"):
        page.click(f"#tab-button-{tab}")
        text = page.inner_text("body")
        for raw in (
            '"$schema"',
            '"type": "object"',
            '"properties"',
            "[dispatch_deadlines]",
            'ordinary = "PT',
        ):
            assert raw not in text, (tab, raw)
    page.click("#tab-button-settings")


def test_with_default_settings_the_editor_shows_no_raw_json_or_toml(page, live_app):
    open_new_draft(page, live_app.config["BASE_URL"], "无原始文本")
    assert_no_raw_text(page)
    page.check("#advanced")  # the rare case: the raw text is one switch away
    assert "[dispatch_deadlines]" in page.input_value("#config") and page.locator("#config").is_visible()


def test_a_form_without_the_field_its_validator_reads_is_refused_pinned_to_the_field(page, live_app):
    """L2: dispatch_order reads 'department'; removing it from the dispatcher's form is a problem."""
    open_new_draft(page, live_app.config["BASE_URL"], "去掉部门")
    page.click("#tab-button-forms")
    page.select_option("#form-file", "review_dispatch.json")
    page.locator("#form-fields li.form-field[data-name='department'] [data-action=remove]").click()
    assert page.locator("#form-fields li.form-field[data-name='department']").count() == 0
    page.click("#save")
    page.wait_for_selector("#form-problems li[data-field='department']")
    assert "dispatch_order" in page.text_content("#form-problems li[data-field='department']")
