"""Issue 13's Done-when: the agents' day in Chromium, pages only, in Chinese and in English.

A customer complains on the public website form; the intake agent finds it in the inbox by
the phone the customer gave, verifies it (A5) and records it; the centre dispatches it (L2);
the network department answers, the centre returns the answer once (E5) and the department
finds its earlier answers filled in with the reason on top; the department asks for more
time (E3), the supervisor grants it, the department answers again, the centre accepts (E4),
replies to the customer (R4) and visits (V1): closed. The intake agent then finds the
complaint again by phone on the search page and reads its case file.

Every person is a demo account (tests/browser/conftest.py ``live_app``), logged in to its own
browser context; time moves only through the injectable clock (never a sleep). Screenshots
of every step are kept in test-artifacts/browser/<test name>/.

"No English on the Chinese page" (and, in the English run, no Chinese) is checked on each task
page's title, meta line, form column and "complaint so far" aside, and on the case file's title,
meta line and sections (customer, open work, timeline, attachments, deadlines). Also no raw ids
(``task_``, ``dept:``, codes like ``internet_broadband``, True/False, seconds). Excluded, and why:
- the form's field titles, choices, help lines and description: they come from the diagram's
  JSON Schema, whose titles the design keeps bilingual ("受理渠道 Channel", ``SCHEMA_TITLES``);
  the form's own messages (rework note, errors, buttons) are checked;
- the diagram beside the case file and its path links: bilingual element labels by design
  (the diagrams issue);
- the demo accounts' display names ("Intake clerk", "Network department"...): account data an
  administrator types, not interface text (a real branch names its people in Chinese);
- "TS" (the complaint number's prefix, C4), "SHA" (the evidence digest's name) and the website
  receipt ("WEB-XXXX-XXXX", random letters): codes, not words;
- the page header (the signed-in user's own name and username) and Chromium's native file
  picker ("Choose File"), which the browser draws in its own language.
"""

from __future__ import annotations

import re

import pytest

from tests.procedure.support import at
from web import accounts

# Letters allowed on a Chinese page: the complaint number's prefix and the digest's name.
CODES = {"TS", "SHA"}
DEMO_NAMES = sorted((user.display_name for user in accounts.DEMO_USERS), key=len, reverse=True)
# The demo account that works a task of each candidate group.
DEMO_USER_OF_GROUP = {
    "intake": "intake",
    "cs_center": "dispatcher",
    "dept:network": "network",
    "supervisor": "supervisor",
}

DAY = {
    "zh": {
        "name": "李先生",
        "phone": "139 1234 5678",
        "description": "宽带每晚断线，已报修两次无人处理",
        "first_cause": "光猫老化",
        "cause": "分光器端口故障",
        "handling": "更换端口并上门调试",
        "result": "已恢复正常",
        "attitude": "认可",
        "return_reason": "未说明恢复时间",
        "extension_progress": "已更换光猫，待线路改造",
        "extension_reason": "需要市政审批",
        "reply_text": "您的宽带已修复，给您带来不便深表歉意",
        "opinion": "满意",
    },
    "en": {
        "name": "Mr Li",
        "phone": "139 1234 5678",
        "description": "The broadband drops every night; reported twice, nobody came",
        "first_cause": "Old modem",
        "cause": "Faulty splitter port",
        "handling": "Port replaced and tested on site",
        "result": "Working again",
        "attitude": "Accepts",
        "return_reason": "The restoration time is missing",
        "extension_progress": "Modem replaced, line rework pending",
        "extension_reason": "Needs the city's permit",
        "reply_text": "Your broadband is repaired; we apologise for the trouble",
        "opinion": "Satisfied",
    },
}

WORDS = {  # what the pages say, per language
    "zh": {
        "found": "找到 1 件",
        "closed": "已结案",
        "website": "互联网",
        "left": "剩余 1 小时 40 分钟",
        "record": "受理登记",
        "dispatch": "审核派单",
        "handle": "部门工单处理",
        "rework": "退回",
        "dispatched": "派单至网络部",
        "returned": "退回部门（E5）：",
        "extension": "申请延期至 2026-11-30 18:00（E3）",
        "visited": "回访：客户满意",
        "met": "按时",
        "extended": "延期 1 次，原时限 2026-11-29 09:40 +08:00",
    },
    "en": {
        "found": "1 found",
        "closed": "Closed",
        "website": "Website / internet",
        "left": "1 h 40 min left",
        "record": "Record the complaint",
        "dispatch": "Review and dispatch",
        "handle": "Handle the work order",
        "rework": "Returned for rework (E5)",
        "dispatched": "dispatched to Network department",
        "returned": "returned to the department (E5): ",
        "extension": "asked for an extension until 2026-11-30 18:00 (E3)",
        "visited": "Return visit",
        "met": "met",
        "extended": "extended 1×, first due 2026-11-29 09:40 +08:00",
    },
}


# The form's field titles, choices, help lines and the form's description come from the
# diagram's JSON Schema, whose titles are bilingual by design ("受理渠道 Channel").
SCHEMA_TITLES = (
    ".field > label, .field legend, .field label.check, .field option, .field .help, :scope > p.muted"
)
SANS_SCHEMA_TITLES = f"""() => {{
  const copy = document.querySelector('.task-form').cloneNode(true);
  copy.querySelectorAll('{SCHEMA_TITLES}').forEach(node => node.remove());
  return copy.textContent;
}}"""


def log_in(page, base: str, username: str) -> None:
    """The login form in the browser's language (its fields by id, not by English label)."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", accounts.DEMO_PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{base}/")


def english_words(text: str) -> set[str]:
    """English words in ``text`` but the demo accounts' display names and the codes."""
    text = re.sub(r"WEB-[A-Z0-9]{4}-[A-Z0-9]{4}", "", text)  # the website receipt: a code
    for name in DEMO_NAMES:
        text = text.replace(name, "")
    return set(re.findall(r"[A-Za-z][A-Za-z']+", text)) - CODES


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_website_complaint_through_the_agents_day(browser, live_app, clock, shoot, language):
    engine = live_app.extensions["process_engine"]
    base = live_app.config["BASE_URL"]
    said, words = DAY[language], WORDS[language]
    locale = "zh-CN" if language == "zh" else "en-US"
    contexts = []
    errors: list[str] = []

    def browser_page():
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        new = context.new_page()
        new.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        return new

    people: dict = {}

    def as_user(username: str):
        if username not in people:
            people[username] = browser_page()
            log_in(people[username], base, username)
            people[username].goto(f"{base}/language/{language}")
        return people[username]

    def open_task(element_id: str):
        """The inbox row of the complaint's open ``element_id`` task, opened by the demo user of its group."""
        [task] = [row for row in engine.open_tasks(instance_id) if row.element_id == element_id]
        step = _step_name(task.name, language)
        worker = as_user(DEMO_USER_OF_GROUP[task.candidate_group])
        worker.goto(f"{base}/inbox")
        row = worker.locator("table.inbox tbody tr", has_text=number).filter(has_text=step)
        assert row.count() == 1, worker.locator("table.inbox").inner_text()
        row_text = row.inner_text()
        row.locator("td a").first.click()
        worker.wait_for_selector("form button[value=complete]")
        assert step in worker.locator("h1").inner_text()
        return worker, row_text

    def complete(worker) -> None:
        with worker.expect_navigation():
            worker.locator("button[value=complete]").click()
        assert worker.url.endswith("/inbox"), worker.locator("main").inner_text()  # not refused

    def main_text(worker) -> str:
        """The task form's column without the schema's bilingual titles (see the docstring)."""
        return worker.evaluate(SANS_SCHEMA_TITLES)

    def check_language(worker, where: str) -> None:
        text = "\n".join(
            [main_text(worker), worker.locator("h1").inner_text(), worker.locator("p.meta").inner_text()]
            + [worker.locator(".task-context").inner_text()]
        )
        assert not re.search(r"task_|dept:|\d{2}:\d{2}:\d{2}|True|False", text), (where, text)
        if language == "zh":
            assert english_words(text) == set(), (where, sorted(english_words(text)))
        else:
            assert not re.search(r"[\u4e00-\u9fff]", text), (
                where,
                re.findall(r"\S*[\u4e00-\u9fff]+\S*", text),
            )

    # The customer complains on the website (C1 internet): a number and a receipt reference.
    clock.set(at(27, 9))
    customer = browser_page()
    customer.goto(f"{base}/complain")
    customer.fill("#f-customer_name", said["name"])
    customer.fill("#f-customer_phone", said["phone"])
    customer.locator("#f-business_category").select_option("internet_broadband")
    customer.fill("#f-description", said["description"])
    shoot("customer-website-form", on=customer)
    customer.locator("form button[type=submit]").click()
    number = customer.locator("strong.number").inner_text().strip()
    receipt = customer.locator("strong.receipt").inner_text().strip()
    assert re.fullmatch(r"TS-20261127-\d{4}", number), number  # C4: reserved now, kept after A5
    assert re.fullmatch(r"WEB-[A-Z0-9]{4}-[A-Z0-9]{4}", receipt)
    shoot("customer-receipt", on=customer)

    # A5 at intake: the agent calls back and finds it by the phone the customer gave.
    clock.set(at(27, 9, 20))
    intake = as_user("intake")
    intake.goto(f"{base}/inbox")
    intake.fill("input[name=q]", said["phone"].replace(" ", ""))
    intake.locator("form.filters button[type=submit]").click()
    intake.wait_for_url(re.compile(r"q=13912345678"))
    rows = intake.locator("table.inbox tbody tr")
    assert rows.count() == 1
    row_text = rows.first.inner_text()
    assert said["name"] in row_text and said["phone"].replace(" ", "") in row_text
    assert words["website"] in row_text
    # L3: a website complaint is verified and transferred within 2 h of receipt (09:00).
    assert "2026-11-27 11:00 +08:00" in row_text and words["left"] in row_text
    shoot("intake-inbox-found-by-phone", on=intake)
    rows.first.locator("td a").first.click()
    intake.wait_for_selector("form button[value=complete]")
    instance_id = engine.task(intake.url.rsplit("/", 1)[-1]).instance_id
    assert intake.locator("#f-customer_phone").input_value() == said["phone"]
    assert intake.locator("#f-description").input_value() == said["description"]
    assert intake.locator("#f-channel").input_value() == "internet"
    intake.locator("#f-nature_category").select_option("installation_relocation")
    intake.locator('input[name="complaint_types"][value="ordinary"]').check()
    intake.locator('input[type=checkbox][name="details_verified"]').check()
    check_language(intake, "intake task")
    shoot("intake-verified-record", on=intake)
    complete(intake)

    # L2: the centre reviews and dispatches to the network department.
    clock.set(at(27, 9, 40))
    dispatcher, row = open_task("task_review_dispatch")
    assert "2026-11-27 11:20 +08:00" in row  # L2: dispatched within 2 h of the record (09:20)
    dispatch_due = engine.open_tasks(instance_id)[0].due_at
    assert dispatch_due is not None
    check_language(dispatcher, "dispatch task")
    dispatcher.locator("#f-department").select_option("network")
    shoot("dispatch", on=dispatcher)
    complete(dispatcher)

    # The department answers; the centre returns the answer (E5) with its reason.
    clock.set(at(27, 11))
    network, row = open_task("task_handle_order")
    assert "2026-11-29 09:40 +08:00" in row  # L4: 48 h from dispatch (09:40)
    check_language(network, "work order")
    _answer(network, said, cause=said["first_cause"])
    shoot("department-first-answer", on=network)
    complete(network)

    clock.set(at(27, 11, 30))
    reviewer, _ = open_task("task_review_reply")
    reviewer.locator('input[type=checkbox][name="reply_qualified"]').set_checked(False)
    reviewer.fill('[name="return_reason"]', said["return_reason"])
    shoot("centre-returns-the-answer", on=reviewer)
    complete(reviewer)

    # E5 rework: the department's form opens with its earlier answers and the reason on top.
    clock.set(at(27, 13))
    network, _ = open_task("task_handle_order")
    rework = network.locator("#rework")
    assert rework.is_visible() and words["rework"] in rework.inner_text()
    assert said["return_reason"] in rework.locator(".rework-reason").inner_text()
    assert network.locator("#f-cause").input_value() == said["first_cause"]
    assert network.locator("#f-handling_process").input_value() == said["handling"]
    assert network.locator("#f-handling_final").is_checked()
    check_language(network, "reworked order")
    shoot("department-sees-earlier-answers-and-reason", on=network)

    # E3: instead of answering now it asks for more time; the supervisor grants it.
    network.locator('input[type=checkbox][name="request_extension"]').check()
    network.fill('[name="extension_progress"]', said["extension_progress"])
    network.fill('[name="extension_reason"]', said["extension_reason"])
    network.fill('[name="extension_until"]', "2026-11-30T18:00")
    shoot("department-asks-for-an-extension", on=network)
    complete(network)

    clock.set(at(27, 14))
    supervisor, row = open_task("task_decide_extension")
    assert "2026-11-27 15:00 +08:00" in row  # E3: asked at 13:00, review_deadlines.extension_decision PT2H
    assert said["extension_reason"] in supervisor.locator("body").inner_text()
    supervisor.locator('input[type=checkbox][name="extension_approved"]').check()
    check_language(supervisor, "extension decision")
    shoot("supervisor-grants-the-extension", on=supervisor)
    complete(supervisor)

    # The department answers again; the centre accepts it (E4), replies (R4), visits (V1).
    clock.set(at(28, 9))
    network, row = open_task("task_handle_order")
    assert "2026-11-30 18:00 +08:00" in row  # E3: the granted extension moved L4's due instant
    _answer(network, said, cause=said["cause"])
    shoot("department-answers-again", on=network)
    complete(network)

    reviewer, _ = open_task("task_review_reply")
    assert said["return_reason"] in reviewer.locator("ol.returns").inner_text()  # history, not an open remark
    assert not reviewer.locator("#rework").count()
    reviewer.locator('input[type=checkbox][name="reply_qualified"]').check()
    check_language(reviewer, "review")
    shoot("centre-accepts-the-answer", on=reviewer)
    complete(reviewer)

    clock.set(at(28, 9, 30))
    replier, _ = open_task("task_reply_customer")
    replier.fill('[name="reply_text"]', said["reply_text"])
    replier.locator('[name="reply_method"]').select_option("phone")
    replier.locator('input[type=checkbox][name="customer_reached"]').check()
    check_language(replier, "reply")
    shoot("reply-to-the-customer", on=replier)
    complete(replier)

    clock.set(at(29, 10))
    visitor, _ = open_task("task_return_visit")
    visitor.locator('input[type=checkbox][name="satisfied"]').check()
    visitor.fill('[name="customer_opinion"]', said["opinion"])
    check_language(visitor, "return visit")
    shoot("return-visit", on=visitor)
    complete(visitor)
    assert engine.instance(instance_id).status == "completed"

    # Found again by phone from the search page, then read as a case file.
    intake.goto(f"{base}/complaints/search")
    intake.fill("input[name=q]", said["phone"])
    intake.locator(".search-form button[type=submit]").click()
    intake.wait_for_selector(".result-count")
    assert intake.text_content(".result-count").strip() == words["found"]
    hit = intake.locator(".results-table tbody tr")
    hit_text = hit.inner_text()
    assert number in hit_text and said["name"] in hit_text and words["closed"] in hit_text
    shoot("search-by-phone", on=intake)
    hit.locator("a").first.click()
    intake.wait_for_url(re.compile(rf"/instances/{instance_id}$"))
    facts = intake.locator("dl.facts").inner_text()
    assert said["name"] in facts and said["phone"] in facts and words["website"] in facts
    assert said["description"] in intake.locator("blockquote.description").inner_text()
    case = "\n".join(intake.locator(".casefile-part").all_inner_texts())
    for answer in (
        words["record"],
        words["dispatched"],
        words["returned"] + said["return_reason"],
        words["extension"],
        said["extension_reason"],
        said["first_cause"],
        said["cause"],
        said["reply_text"],
        words["visited"],
    ):
        assert answer in case, answer
    assert intake.locator(".casefile-timeline li.step-return").count() == 1
    head = intake.locator("h1").inner_text() + intake.locator("p.meta").inner_text()
    assert not re.search(r"task_|dept:|internet_broadband|\d{2}:\d{2}:\d{2}", head + case)
    assert number in head
    if language == "zh":
        assert english_words(head + case) == set(), sorted(english_words(head + case))
    else:  # the English page: every word the product says is English (the people typed English too)
        assert not re.search(r"[\u4e00-\u9fff]", head + case), re.findall(
            r"\S*[\u4e00-\u9fff]+\S*", head + case
        )
    intake.wait_for_selector("#diagram[data-rendered]")
    # Each clock with its due instant and outcome (L7).
    clocks = {
        clock: intake.locator(f'table.clocks tr[data-clock="{clock}"]').first.inner_text()
        for clock in ("L2", "L3", "L4", "R4")
    }
    assert "2026-11-27 11:20 +08:00" in clocks["L2"] and words["met"] in clocks["L2"]
    assert "2026-11-27 11:00 +08:00" in clocks["L3"] and words["met"] in clocks["L3"]
    assert "2026-11-30 18:00 +08:00" in clocks["L4"] and words["extended"] in clocks["L4"]
    assert words["met"] in clocks["R4"]
    shoot("case-file", on=intake)
    assert errors == []
    for context in contexts:
        context.close()


def _answer(page, said: dict, cause: str) -> None:
    """W1-W5: the department's answer for a problem that is not concentrated."""
    page.fill('[name="cause"]', cause)
    page.fill('[name="handling_process"]', said["handling"])
    page.locator('input[type=checkbox][name="handling_final"]').check()
    page.fill('[name="result"]', said["result"])
    page.locator('input[type=checkbox][name="service_restored"]').check()
    page.fill('[name="customer_attitude"]', said["attitude"])


def _step_name(name: str, language: str) -> str:
    """The step's name as the page shows it: the reader's half of the bilingual diagram label."""
    zh, _, en = re.match(r"^(\S*[\u4e00-\u9fff（）]\S*)( )(.*)$", name).groups()
    return zh if language == "zh" else en
