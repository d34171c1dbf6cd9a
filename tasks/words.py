"""The procedure's bilingual words ("中文 English", Chinese first) in one language.

Diagram names, form titles and config labels are written once in both languages
(bpmn/); a page in one language shows only its half, so a Chinese page carries no
English and an English page no Chinese.
"""

from __future__ import annotations

import re

# Characters that make a run Chinese: CJK ideographs, CJK punctuation and full-width forms
# (brackets "（）", the colon "：", the comma "，").
_CJK = r"\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_NON_CJK_RUN = re.compile(rf"[^{_CJK}]+")
# An English run holds a lowercase word; "20:00-08:00", "（V1、H3）" or "SHA-256" inside a
# Chinese sentence do not.
_ENGLISH_WORD = re.compile(r"[A-Za-z][a-z]")
# A leading rule id ("L2 ", "T1：", "T6、T7：") is language-neutral: both halves keep it.
_RULE_IDS = re.compile(r"^(?P<ids>[A-Z]\d+(?:\s*[-、，,/]\s*[A-Z]\d+)*)(?:\s*(?P<colon>[：:])\s*|\s+)(?=\S)")


def halves(text: str) -> tuple[str, str]:
    """``(chinese, english)`` of a bilingual text; a one-language text is both halves.

    Texts are written Chinese first, and longer ones alternate sentence by sentence
    ("中文。English. 中文。English."): the English half is every run free of Chinese
    characters that holds an English word, the Chinese half everything else, so a
    bracket or a rule id inside a Chinese sentence stays in it.
    """
    text = text.strip()
    prefix = _RULE_IDS.match(text)
    body = text[prefix.end() :] if prefix else text
    chinese: list[str] = []
    english: list[str] = []
    position = 0
    for run in _NON_CJK_RUN.finditer(body):
        if _ENGLISH_WORD.search(run.group()) and run.group().strip():
            chinese.append(body[position : run.start()])
            english.append(run.group().strip())
            position = run.end()
    chinese.append(body[position:])
    chinese_half = "".join(chinese).strip()
    if not english or not chinese_half:
        return text, text
    english_half = " ".join(english)
    if prefix:
        chinese_half = text[: prefix.end()] + chinese_half
        if not _RULE_IDS.match(english_half):
            english_half = (
                prefix["ids"].replace("、", ", ") + (": " if prefix["colon"] else " ") + english_half
            )
    return chinese_half, english_half


def pick(text: str | None, language: str) -> str:
    """The half of ``text`` in ``language`` ("zh" or anything else: English)."""
    if not text:
        return ""
    chinese, english = halves(str(text))
    return chinese if language == "zh" else english


def say(language: str, chinese: str, english: str) -> str:
    """A phrase of the domain written here in both languages."""
    return chinese if language == "zh" else english
