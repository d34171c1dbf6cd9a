"""Issue 13: the complaint page reads like a case file (customer, matter, each step in words).

The real procedure (bpmn/) runs a whole day through the engine (tests/web/case_day.py);
the page is then read as a supervisor, in Chinese and in English.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.web import case_day
from tests.web.support import client_of


@pytest.fixture
def day(procedure_app, clock):
    engine = procedure_app.extensions["process_engine"]
    return case_day.closed_day(engine, clock)


def _page(app, username: str, instance_id: int, language: str = "zh"):
    client = client_of(app, username)
    client.get(f"/language/{language}")
    return client.get(f"/instances/{instance_id}")


def _visible(html: str) -> str:
    """The text a reader sees: no tags, no attribute values, no script data."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_case_file_shows_the_customer_the_matter_and_every_answer_in_chinese(procedure_app, day):
    page = _page(procedure_app, "sue", day)
    assert page.status_code == 200
    text = _visible(page.get_data(as_text=True))
    assert case_day.NAME in text and case_day.PHONE in text
    assert case_day.DESCRIPTION in text
    assert "来电" in text and "互联网宽带" in text, "channel and C2 category by their labels"
    assert "受理登记" in text and "审核派单" in text, "steps by their task names"
    assert "派单至网络部" in text, "the department by its label"
    assert "分光器端口故障" in text, "W1: the department's cause"
    assert "申请延期至 2026-11-30 18:00（E3）" in text and "批准延期（E3）" in text
    assert f"退回部门（E5）：{case_day.RETURN_REASON}" in text
    assert case_day.REPLY_TEXT in text, "the reply sent"
    assert "2026-11-28 08:00" in text, "an instant answer in the display zone, to the minute"
    assert "回访：客户满意" in text and "已结案" in text
    assert "已告知客户处理进展（L1）" in text


def test_the_chinese_case_file_has_no_raw_ids_or_english_labels(procedure_app, day):
    text = _visible(_page(procedure_app, "sue", day).get_data(as_text=True))
    for raw in (
        "task_",
        "internet_broadband",
        "dept:network",
        "phone</",
        "True",
        "False",
        "Record the complaint",
    ):
        assert raw not in text, raw
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", text), "no microseconds"


def test_the_english_case_file_speaks_english(procedure_app, day):
    text = _visible(_page(procedure_app, "sue", day, "en").get_data(as_text=True))
    assert "Record the complaint" in text and "dispatched to Network department" in text
    assert f"returned to the department (E5): {case_day.RETURN_REASON}" in text
    assert "受理登记" not in text


def test_the_people_who_worked_on_it_see_it_an_unrelated_agent_gets_the_403_page(procedure_app, day):
    engine = procedure_app.extensions["process_engine"]
    from web import accounts

    with engine.writer() as session, session.begin():
        accounts.create_user(session, "otto", "password-1", "Otto", ["dept:billing"], ["agent"])
    for username in ("ivy", "dora", "ned", "sue"):
        assert _page(procedure_app, username, day).status_code == 200, username
    refused = _page(procedure_app, "otto", day)
    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert case_day.NAME not in text and case_day.PHONE not in text
    assert "没有权限" in text and 'href="/inbox"' in text, "the app's 403 page, translated, with a way back"


def test_an_open_complaint_shows_who_it_waits_for_and_each_running_clocks_time_left(procedure_app, clock):
    """L2 runs from the record: the dispatch waits for the centre (by its lane's words), unclaimed."""
    engine = procedure_app.extensions["process_engine"]
    instance_id = case_day.recorded(engine, clock)
    clock.set(clock.now() + timedelta(minutes=20))
    text = _visible(_page(procedure_app, "sue", instance_id).get_data(as_text=True))
    waiting = r"审核派单 · 客服中心 · 尚未认领\s*· 时限 2026-11-27 11:00 \+08:00\s*剩余 1 小时 40 分钟"
    assert re.search(waiting, text)
    assert "受理登记 Being recorded" not in text and "审核派单" in text
    english = _visible(_page(procedure_app, "sue", instance_id, "en").get_data(as_text=True))
    assert "Review and dispatch · Customer-service centre · not claimed yet" in re.sub(r"\s+", " ", english)
    assert "1 h 40 min left" in english
