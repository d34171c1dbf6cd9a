"""tasks.words and tasks.case_file.Wording: the procedure's bilingual words in one language."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tasks import case_file
from tasks.words import halves, pick
from tests.procedure.support import BUNDLE, CONFIG

FORMS = {
    path.name: json.loads(path.read_text(encoding="utf-8")) for path in (BUNDLE / "forms").glob("*.json")
}
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "chinese", "english"),
    [
        ("来电 Phone", "来电", "Phone"),
        ("升级/越级 Escalated", "升级/越级", "Escalated"),
        ("督办：派单超时 Dispatch deadline breached", "督办：派单超时", "Dispatch deadline breached"),
        (
            "处理部门（按派单）Handling department (as dispatched)",
            "处理部门（按派单）",
            "Handling department (as dispatched)",
        ),
        ("Plain English", "Plain English", "Plain English"),
        ("只有中文", "只有中文", "只有中文"),
    ],
)
def test_a_bilingual_label_splits_into_its_halves(text, chinese, english):
    assert halves(text) == (chinese, english)
    assert (pick(text, "zh"), pick(text, "en")) == (chinese, english)


def wording(language: str) -> case_file.Wording:
    return case_file.Wording(FORMS, CONFIG, language, SHANGHAI)


def test_values_by_their_form_or_config_labels_instants_to_the_minute_in_the_zone():
    zh, en = wording("zh"), wording("en")
    assert zh.value("record_complaint.json", "channel", "consumer_association") == "消协"
    assert en.value("review_dispatch.json", "department", "network") == "Network department"
    assert zh.value(None, "department", "billing") == "计费部", "config label when no form names it"
    assert zh.value("record_complaint.json", "complaint_types", ["major", "batch"]) == "重大、批量"
    assert (zh.value(None, "x", True), en.value(None, "x", False)) == ("是", "No")
    instant = datetime(2026, 11, 30, 10, 0, 5, 123456, tzinfo=ZoneInfo("UTC")).isoformat()
    assert zh.value(None, "extension_until", instant) == "2026-11-30 18:00"
    assert zh.label("handle_order.json", "cause") == "产生原因" and en.label(None, "cause") == "Cause"
    assert zh.group("dept:billing") == "计费部" and en.group("cs_center") == "Customer-service centre"


def test_headlines_name_returns_extensions_and_visits():
    zh = wording("zh")
    returned = case_file._headline(
        "reply_review", {"reply_qualified": False, "return_reason": "缺时间"}, zh
    )
    assert returned == ("退回部门（E5）：缺时间", "return")
    refused = case_file._headline("extension_requested", {"extension_approved": False}, zh)
    assert refused == ("不批准延期（E3）", "extension")
    unhappy = case_file._headline("return_visit", {"satisfied": False}, wording("en"))
    assert unhappy == ("return visit: the customer is not satisfied", "return")
