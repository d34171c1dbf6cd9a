"""Work sent back for rework (E5, T1, R3), read from the instance's command history.

A reviewer returns work with a reason; the task that reworks it reopens. The person
reworking sees the reason as what to fix, with their previous answers filled in (their
last submission of that task, as the audit history kept it). Once they complete the task
again the return is answered: later reviewers see it as history, not as an open remark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ReturnRule:
    """One way the procedure sends work back: ``review`` answers ``flag`` false with ``reason``."""

    rule: str
    reviews: tuple[str, ...]
    flag: str
    reason: str
    rework: str


RETURN_RULES = (
    # E5: the centre returns an unqualified work-order reply to the department
    ReturnRule("E5", ("task_review_reply",), "reply_qualified", "return_reason", "task_handle_order"),
    # T1: the supervisor refuses a major complaint's plan, saying what to change
    ReturnRule("T1", ("task_approve_plan",), "plan_approved", "approval_note", "task_revise_plan"),
    # R3: the specialist, the legal adviser or the supervisor returns a written reply
    ReturnRule(
        "R3",
        ("task_review_written_specialist", "task_review_written_legal", "task_approve_written_reply"),
        "review_approved",
        "review_note",
        "task_reply_customer",
    ),
)

# The fields a return writes: shown as the return (open or answered), never as loose data.
# (R3's ``review_note`` is also the dispatcher's note on an accepted record: it stays data.)
RETURN_FIELDS = frozenset(name for rule in RETURN_RULES for name in (rule.flag, rule.reason))
RETURN_FIELDS -= {"review_note"}


class Entry(Protocol):
    at: datetime
    actor: str
    command: str
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class Return:
    rule: str
    reason: str
    by: str
    at: datetime
    rework: str
    answered_by: str | None = None
    answered_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.answered_at is None


def returns_of(history: Iterable[Entry]) -> list[Return]:
    """Every return of the instance, oldest first, each answered once its rework was completed."""
    reviews = {review: rule for rule in RETURN_RULES for review in rule.reviews}
    found: list[Return] = []
    for entry in history:
        if entry.command != "complete":
            continue
        element, data = entry.detail.get("task"), entry.detail.get("data") or {}
        rule = reviews.get(element)
        if rule is not None and data.get(rule.flag) is False:
            reason = str(data.get(rule.reason) or "").strip()
            found.append(Return(rule.rule, reason, entry.actor, entry.at, rule.rework))
            continue
        for index, earlier in enumerate(found):
            if earlier.open and earlier.rework == element:
                found[index] = replace(earlier, answered_by=entry.actor, answered_at=entry.at)
    return found


def open_return(history: Iterable[Entry], element_id: str) -> Return | None:
    """The return the task ``element_id`` is reworking now, if it is one."""
    pending = [item for item in returns_of(history) if item.open and item.rework == element_id]
    return pending[-1] if pending else None


def previous_answers(history: Iterable[Entry], element_id: str) -> dict[str, Any]:
    """What was last submitted on ``element_id``: the form a rework opens with."""
    answers: dict[str, Any] = {}
    for entry in history:
        if entry.command == "complete" and entry.detail.get("task") == element_id:
            answers = dict(entry.detail.get("data") or {})
    return answers
