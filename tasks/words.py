"""The procedure's bilingual words ("中文 English", Chinese first) in one language.

Diagram names, form titles and config labels are written once in both languages
(bpmn/); a page in one language shows only its half, so a Chinese page carries no
English and an English page no Chinese.
"""

from __future__ import annotations

import re

# The Chinese half: from the start, up to the last CJK character or full-width mark that
# comes before the first ASCII letter (a Chinese label may hold "/", digits or spaces; the
# English half may follow a full-width bracket without a space).
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_SPLIT = re.compile(rf"^([^A-Za-z]*[{_CJK}])\s*([A-Za-z].*)$", re.DOTALL)


def halves(text: str) -> tuple[str, str]:
    """``(chinese, english)`` of a bilingual text; a one-language text is both halves."""
    found = _SPLIT.match(text.strip())
    if found is None:
        return text, text
    return found.group(1).strip(), found.group(2).strip()


def pick(text: str | None, language: str) -> str:
    """The half of ``text`` in ``language`` ("zh" or anything else: English)."""
    if not text:
        return ""
    chinese, english = halves(str(text))
    return chinese if language == "zh" else english


def say(language: str, chinese: str, english: str) -> str:
    """A phrase of the domain written here in both languages."""
    return chinese if language == "zh" else english
