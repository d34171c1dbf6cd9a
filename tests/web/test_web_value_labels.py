"""Values by their labels (issue 13): codes by the config's words, yes/no, instants to the minute
in the display zone, time left in the page's language. Real procedure, real pages."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest

from tests.procedure import support
from tests.web.support import client_of
from tests.web.test_web_procedure import running_complaint
from web import value_labels


@pytest.fixture
def app(procedure_app):
    return procedure_app


def test_time_left_and_bilingual_labels_follow_the_pages_language(app):
    due = datetime(2026, 11, 27, 12, 0)
    for language, left, overdue, channel in (
        ("en", "1 h 15 min left", "overdue by 1 d 3 h", "Phone"),
        ("zh", "剩余 1 小时 15 分钟", "已超时 1 天 3 小时", "来电"),
    ):
        with app.test_request_context(headers={"Accept-Language": language}):
            assert value_labels.time_left(due, due - timedelta(hours=1, minutes=15)) == left
            assert value_labels.time_left(due, due + timedelta(days=1, hours=3)) == overdue
            assert value_labels.channel_label("phone") == channel
            assert value_labels.in_language("升级/越级 Escalated") == (
                "升级/越级" if language == "zh" else "Escalated"
            )
            assert value_labels.group_label("dept:network") == (
                "网络部" if language == "zh" else "Network department"
            )
            assert value_labels.group_label("cs_center") == (
                "客服中心" if language == "zh" else "Customer-service centre"
            )


def test_the_task_pages_context_shows_words_yes_no_and_minutes_not_codes_booleans_or_iso(app):
    engine = app.extensions["process_engine"]
    running, number = running_complaint(engine)
    order = support.open_task(engine, running, "task_handle_order")
    ned = client_of(app, "ned")
    ned.get("/language/zh")
    page = html.unescape(ned.get(f"/tasks/{order.id}").get_data(as_text=True))
    context = page[page.index('class="task-context"') :]
    context = context[: context.index("</dl>")]
    pairs = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", context))
    assert pairs["投诉单号"] == number
    assert pairs["受理渠道"] == "来电" and pairs["处理部门"] == "网络部" and pairs["处理组"] == "网络部"
    assert pairs["处理时限"] == "2026-11-29 09:00 +08:00"  # handling_due, L4: 48 h of dispatch
    assert "否" in pairs.values()
    assert not [
        value
        for value in pairs.values()
        if value in ("True", "False") or re.search(r"\d{2}:\d{2}:\d{2}", value)
    ]
    assert not [key for key in pairs if re.fullmatch(r"[a-z_]+", key)]  # no data key shown as its id


def test_the_task_pages_history_names_steps_in_words_not_element_ids(app):
    engine = app.extensions["process_engine"]
    running, _ = running_complaint(engine)
    order = support.open_task(engine, running, "task_handle_order")
    ned = client_of(app, "ned")
    ned.get("/language/zh")
    page = html.unescape(ned.get(f"/tasks/{order.id}").get_data(as_text=True))
    history = page[page.index('class="timeline"') :]
    history = history[: history.index("</ol>")]
    assert "发起投诉" in history and re.search(r"已完成\s+受理登记", history)
    assert "task_" not in history and " complete" not in history and " start" not in history
