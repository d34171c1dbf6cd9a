"""Every bilingual text of bpmn/ splits into a Chinese and an English half that each read whole.

One splitter (tasks.words.halves) serves the case file, the inbox, the task page and the
clock names (web.value_labels.in_language calls it). It is checked here on every name,
label, title and description the bundle holds, so a text an owner writes that the
splitter would cut wrongly fails here rather than on a page.
"""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from tasks.words import halves, pick
from tests.procedure.support import BUNDLE

CJK = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]")
ENGLISH_WORD = re.compile(r"[A-Za-z][a-z]")
RULE_IDS = re.compile(r"^[A-Z]\d+(?:\s*[-、，,/]\s*[A-Z]\d+)*")
# A code such as "SHA-256" or an instant, then a capitalised word: the code was meant for the
# Chinese sentence before it, and the English half starts one token late.
CODE_THEN_SENTENCE = re.compile(r"^(?=\S*\d)[A-Z0-9][A-Z0-9:+\-.]*\s+[A-Z][a-z]")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def bundle_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(BUNDLE.glob("*.bpmn")):
        texts += [element.get("name") or "" for element in ET.parse(path).iter()]
    for path in sorted((BUNDLE / "forms").glob("*.json")):
        texts += _strings(json.loads(path.read_text(encoding="utf-8")))
    texts += _strings(tomllib.loads((BUNDLE / "procedure.toml").read_text(encoding="utf-8")))
    bilingual = {text for text in texts if CJK.search(text) and ENGLISH_WORD.search(text)}
    return sorted(bilingual)


BILINGUAL = bundle_texts()


def test_the_bundle_has_bilingual_texts_to_check():
    assert len(BILINGUAL) > 300


@pytest.mark.parametrize("text", BILINGUAL)
def test_each_half_is_in_one_language_and_whole(text):
    chinese, english = halves(text)
    assert chinese != english, "a bilingual text splits"
    assert not ENGLISH_WORD.search(RULE_IDS.sub("", chinese)), f"English left in {chinese!r}"
    assert not CJK.search(english), f"Chinese left in {english!r}"
    assert chinese.count("（") == chinese.count("）"), f"a bracket cut in {chinese!r}"
    assert english.count("(") == english.count(")"), f"a bracket cut in {english!r}"
    sentence = re.sub(rf"{RULE_IDS.pattern}[:\s]*", "", english)
    assert not CODE_THEN_SENTENCE.match(sentence), f"the English half starts one token early: {english!r}"
    leading_ids = RULE_IDS.match(text)
    if leading_ids:
        assert RULE_IDS.match(english), f"the rule id {leading_ids.group()} is lost in English"


@pytest.mark.parametrize(
    ("text", "chinese", "english"),
    [
        (
            "T1：批准时必填，逐级上报 Required when approved",
            "T1：批准时必填，逐级上报",
            "T1: Required when approved",
        ),
        ("L2 2小时，紧急30分钟 2 h, urgent 30 min", "L2 2小时，紧急30分钟", "L2 2 h, urgent 30 min"),
        ("R4/R6：回复时必填 Required for a reply", "R4/R6：回复时必填", "R4/R6: Required for a reply"),
        ("T2：在办（催办）T2: in progress", "T2：在办（催办）", "T2: in progress"),
        ("回拨窗口（R6） Call-back window", "回拨窗口（R6）", "Call-back window"),
        ("2小时（不含20:00-08:00）2 h, nights excluded", "2小时（不含20:00-08:00）", "2 h, nights excluded"),
        ("甲。First. 乙（V1、H3）。Second (V1).", "甲。乙（V1、H3）。", "First. Second (V1)."),
        ("否 No", "否", "No"),
    ],
)
def test_rule_ids_brackets_times_and_alternating_sentences(text, chinese, english):
    assert halves(text) == (chinese, english)
    assert (pick(text, "zh"), pick(text, "en")) == (chinese, english)
