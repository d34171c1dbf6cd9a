"""Messages for people that a page may show in its reader's language.

The engine and the handlers run without Flask, but what they refuse reaches a person.
A :class:`Message` is its English text (a plain ``str`` everywhere: logs, tests, JSON)
that also keeps its catalogue id and parameters, so the web layer can look it up in the
reader's language. ``N_`` marks the id for extraction (``babel extract -k N_``).
"""

from __future__ import annotations

from typing import Any


class Message(str):
    """English text carrying ``msgid`` and ``params`` for translation at the edge."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        text = msgid % params if params else msgid
        message = super().__new__(cls, text)
        message.msgid = msgid
        message.params = params
        return message

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles keep the id, not just the text
        return (_rebuild, (self.msgid, self.params))


def _rebuild(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


def N_(msgid: str, **params: Any) -> Message:  # noqa: N802 (the usual gettext marker name)
    """Mark ``msgid`` as a translatable message; ``%(name)s`` placeholders take ``params``."""
    return Message(msgid, **params)
