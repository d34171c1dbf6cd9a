"""Issue 13 in Chromium: a closed complaint found by phone on the search page, its case file read.

The day (dispatch, E3 extension, E5 return, reply, return visit, closed) runs through the
engine on the real diagrams (tests/web/case_day.py) by people with Chinese display names;
a supervisor then finds it by the customer's phone and reads the case file, in Chinese
(no raw ids, no English) and in English. Screenshots are kept in test-artifacts/browser/.
"""

from __future__ import annotations

import re

import pytest

from tests.web import case_day
from web import accounts

PEOPLE = {  # username, display name, group
    "intake": ("li", "小李"),
    "cs_center": ("wang", "王调度"),
    "dept:network": ("zhang", "张工"),
    "supervisor": ("liu", "刘主管"),
}
# Letters allowed on the Chinese case file: the complaint number's prefix and digests.
ALLOWED_WORDS = {"TS", "SHA"}


@pytest.fixture
def closed(live_app, clock) -> int:
    engine = live_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        for group, (username, display) in PEOPLE.items():
            roles = ["supervisor"] if group == "supervisor" else ["agent"]
            accounts.create_user(session, username, "password-1", display, [group], roles)
    return case_day.closed_day(engine, clock, {group: person[0] for group, person in PEOPLE.items()})


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", "password-1")
    page.locator("form button[type=submit]").click()


def find_by_phone(page, base: str, phone: str) -> None:
    page.goto(f"{base}/complaints/search")
    page.fill("input[name=q]", phone)
    page.locator(".search-form button[type=submit]").click()
    page.wait_for_selector(".result-count")


def test_found_by_phone_and_read_as_a_case_file_in_chinese(page, live_app, closed, shoot):
    base = live_app.config["BASE_URL"]
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, base, "liu")
    page.goto(f"{base}/language/zh")
    find_by_phone(page, base, "139 1234 5678")
    assert page.text_content(".result-count").strip() == "找到 1 件"
    row = page.locator(".results-table tbody tr")
    assert case_day.NAME in row.inner_text() and "已结案" in row.inner_text()
    shoot("search-by-phone-zh")

    row.locator("a").click()
    page.wait_for_url(re.compile(rf"/instances/{closed}$"))
    main = "\n".join(page.locator(".casefile-part").all_inner_texts())
    head = page.locator("h1").inner_text() + page.locator("p.meta").inner_text()
    facts = page.locator("dl.facts").inner_text()
    assert case_day.NAME in facts and case_day.PHONE in facts and "来电" in facts
    assert case_day.DESCRIPTION in page.locator("blockquote.description").inner_text()
    for words in (
        "小李 · 受理登记",
        "王调度 · 审核派单",
        "派单至网络部",
        "申请延期至 2026-11-30 18:00（E3）",
        "刘主管 · 审批延期",
        f"退回部门（E5）：{case_day.RETURN_REASON}",
        case_day.CAUSE,
        case_day.REPLY_TEXT,
        "回访：客户满意",
        "已告知客户处理进展（L1）",
    ):
        assert words in main, words
    assert page.locator(".casefile-timeline li.step-return").count() == 1
    english = {word for word in re.findall(r"[A-Za-z][A-Za-z']+", head + main)} - ALLOWED_WORDS
    assert english == set(), f"English or raw ids on the Chinese case file: {sorted(english)}"
    assert not re.search(r"task_|dept:|\d{2}:\d{2}:\d{2}", head + main)
    page.wait_for_selector("#diagram[data-rendered]")
    shoot("case-file-zh")
    assert errors == []


def test_the_same_case_file_in_english(page, live_app, closed, shoot):
    base = live_app.config["BASE_URL"]
    log_in(page, base, "liu")
    page.goto(f"{base}/language/en")
    find_by_phone(page, base, "13912345678")
    page.locator(".results-table tbody tr a").click()
    main = "\n".join(page.locator(".casefile-part").all_inner_texts())
    assert "Record the complaint" in main and "dispatched to Network department" in main
    assert "asked for an extension until 2026-11-30 18:00 (E3)" in main
    assert f"returned to the department (E5): {case_day.RETURN_REASON}" in main
    assert "受理登记" not in main and "task_" not in main
    shoot("case-file-en")


def test_an_unrelated_agent_gets_the_403_page_with_a_way_back(page, live_app, closed, shoot):
    base = live_app.config["BASE_URL"]
    log_in(page, base, "li")  # li recorded it: may open it
    page.goto(f"{base}/instances/{closed}")
    assert page.locator("dl.facts").count() == 1
    context = page.context.browser.new_context(locale="zh-CN")
    other = context.new_page()
    with live_app.extensions["process_engine"].writer() as session, session.begin():
        accounts.create_user(session, "zhao", "password-1", "赵工", ["dept:billing"], ["agent"])
    log_in(other, base, "zhao")
    response = other.goto(f"{base}/instances/{closed}")
    assert response.status == 403
    assert "没有权限" in other.inner_text("main") and case_day.NAME not in other.inner_text("body")
    other.get_by_role("link", name="返回待办").click()
    assert other.url.endswith("/inbox")
    shoot("403-zh", on=other)
    context.close()


def test_the_case_file_fits_a_phone_screen(browser, live_app, closed, shoot):
    """Issue 13: at 390 x 844 the case file scrolls down, never sideways (its tables scroll inside)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    log_in(phone, live_app.config["BASE_URL"], "liu")
    phone.goto(f"{live_app.config['BASE_URL']}/instances/{closed}")
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    shoot("case-file-390", on=phone)
    context.close()
    assert widths[0] <= widths[1], widths
