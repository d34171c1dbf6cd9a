"""The demo's complaints and the steps each will take (``tasks.demo`` runs them).

The mix (weights in :data:`KINDS` and :data:`PATHS`): ordinary, major (T1), repeat of a closed
complaint (T3), batch (T4) and escalated (T5-T7) complaints; resolutions at first contact (A2),
returned replies (E5), extensions (E3), late steps that breach L2, L4 or R4, dissatisfied return
visits (V1/H3: a second dispatch, or an unreasonable customer), unreachable customers (R6).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tasks import demo_forms as forms

# Who does each lane's work: the demo accounts of `complaints setup --demo-users`.
ACTORS = {
    "intake": "intake",
    "cs_center": "dispatcher",
    **{f"dept:{code}": agent for code, agent in forms.DEPARTMENT_AGENTS.items()},
    "specialist": "specialist",
    "legal": "legal",
    "supervisor": "supervisor",
    "escalation_desk": "escalation",
    "complaint_handler": "handler",
}

KINDS = {"ordinary": 55, "major": 6, "repeat": 10, "batch": 12, "escalated": 17}
PATHS = {
    "first_contact": 14,  # A2 (ordinary and batch only)
    "straight": 34,
    "rework": 10,  # E5
    "extension": 8,  # E3
    "late_dispatch": 5,  # L2 breach
    "late_handling": 7,  # L4 breach
    "late_reply": 3,  # R4 breach (when the late hours are working hours)
    "dissatisfied_redispatch": 8,  # V1/H3: second dispatch
    "dissatisfied_unreasonable": 4,  # H3: unreasonable customer
    "unreachable": 7,  # R6
}
DEPARTMENTS = {"network": 70, "billing": 30}
WRITTEN_REPLY_SHARE = 0.15  # R3: replies by e-mail, reviewed before they are sent
CHANNELS = {"phone": 55, "visit": 10, "letter": 4, "fax": 2, "email": 9, "internet": 20}
ESCALATION_CHANNELS = {
    "miit": 40,
    "group_company": 15,
    "comms_administration": 20,
    "consumer_association": 20,
    "media": 5,
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@dataclass
class Step:
    """After ``delay``, complete the open task ``element`` (or send a message, ``message:<name>``)."""

    delay: timedelta
    element: str
    data: Callable[[Any, int, datetime], dict[str, Any]] | None = None
    mark: str | None = None  # counted in the report when the step is taken


@dataclass
class Story:
    index: int
    rng: random.Random
    arrival: datetime
    kind: str
    path: str
    channel: str
    customer: str
    phone: str
    department: str = "network"
    batch_tag: str | None = None
    steps: list[Step] = field(default_factory=list)
    instance_id: int | None = None
    next_step: int = 0


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def plan_stories(count: int, *, seed: int, start: datetime, end: datetime, zone: ZoneInfo) -> list[Story]:
    """The complaints and their planned steps; arrivals spread over the period in office hours."""
    rng = random.Random(seed)
    stories = []
    span_days = max(1, (end - start).days)
    for index in range(count):
        own = random.Random(rng.getrandbits(64))
        day = (start + timedelta(days=own.randrange(span_days))).astimezone(zone).date()
        local = datetime(day.year, day.month, day.day, tzinfo=zone) + _minutes(own, 8 * 60, 20 * 60)
        arrival = min(max(local, start), end)
        kind = _pick(own, KINDS)
        path = _pick(own, PATHS)
        if path == "first_contact" and kind not in ("ordinary", "batch"):
            path = "straight"
        escalated = kind == "escalated"
        story = Story(
            index=index,
            rng=own,
            arrival=arrival,
            kind=kind,
            path=path,
            channel=_pick(own, ESCALATION_CHANNELS if escalated else CHANNELS),
            customer=f"{own.choice(SURNAMES)}{'先生' if own.random() < 0.5 else '女士'}",
            phone=f"139{index:08d}",
            batch_tag=f"B-{day:%m%d}-{own.randrange(1, 3)}" if kind == "batch" else None,
        )
        story.department = _pick(own, DEPARTMENTS)
        story.steps = _steps(story)
        stories.append(story)
    return sorted(stories, key=lambda story: (story.arrival, story.index))


def _steps(story: Story) -> list[Step]:
    rng, path = story.rng, story.path
    urgent = story.kind != "ordinary"
    steps = [Step(_minutes(rng, 3, 15), "task_record_complaint", None, None)]  # data at run time (T3)
    if path == "first_contact":
        steps[0].mark = "first_contact"
        return steps
    late = path == "late_dispatch"
    dispatch_delay = (
        _minutes(rng, 35, 90)
        if late and urgent
        else _minutes(rng, 130, 240)
        if late
        else _minutes(rng, 5, 25)
        if urgent
        else _minutes(rng, 10, 90)
    )
    steps.append(
        Step(dispatch_delay, "task_review_dispatch", lambda *_: forms.dispatch(story), path if late else None)
    )
    if story.kind == "major":  # T1: the supervisor approves the plan before the order goes out
        steps.append(Step(_minutes(rng, 5, 20), "task_approve_plan", lambda *_: forms.approve_plan()))
    if rng.random() < 0.85:  # L1: the department tells the customer how far it has got
        steps.append(Step(_minutes(rng, 20, 240), "message:progress_reply"))
    steps += _handling(story, second=False)
    if path == "rework":
        steps.append(
            Step(_minutes(rng, 30, 240), "task_review_reply", lambda *_: forms.review(False), "rework")
        )
        steps += _handling(story, second=True)
    # R4 runs from the department's reply (issue 11), so the centre's acceptance comes well
    # within its 2 working hours: a later one would start the reply already late.
    steps.append(Step(_minutes(rng, 10, 90), "task_review_reply", lambda *_: forms.review(True)))
    steps += _reply_and_visit(story)
    return steps


def _handling(story: Story, *, second: bool) -> list[Step]:
    rng, path = story.rng, story.path
    urgent = story.kind != "ordinary"
    if path == "late_handling" and not second:
        delay = _minutes(rng, 26 * 60, 30 * 60) if urgent else _minutes(rng, 50 * 60, 56 * 60)
        return [Step(delay, "task_handle_order", lambda *_: forms.handling(story), "late_handling")]
    delay = _minutes(rng, 60, 15 * 60) if urgent or second else _minutes(rng, 120, 30 * 60)
    if path == "extension" and not second:
        approved = rng.random() < 0.8

        def request(engine: Any, instance_id: int, now: datetime) -> dict[str, Any]:
            due = datetime.fromisoformat(engine.instance_data(instance_id)["handling_due"])
            return forms.extension_request(due)

        return [
            Step(delay, "task_handle_order", request, "extension"),
            Step(
                _minutes(rng, 15, 180),
                "task_decide_extension",
                lambda *_: forms.extension_decision(approved),
                "extension_approved" if approved else "extension_refused",
            ),
            Step(_minutes(rng, 120, 15 * 60), "task_handle_order", lambda *_: forms.handling(story)),
        ]
    return [Step(delay, "task_handle_order", lambda *_: forms.handling(story))]


def _reply_and_visit(story: Story, *, round_two: bool = False) -> list[Step]:
    rng, path = story.rng, story.path
    late = path == "late_reply" and not round_two
    reply_delay = _minutes(rng, 5 * 60, 9 * 60) if late else _minutes(rng, 15, 90)
    if path == "unreachable" and not round_two:
        return [
            Step(reply_delay, "task_reply_customer", lambda *_: forms.reply(False)),
            Step(_minutes(rng, 190, 600), "task_retry_contact", lambda *_: forms.retry(False)),
            Step(_minutes(rng, 190, 600), "task_retry_contact", lambda *_: forms.retry(False)),
            Step(_minutes(rng, 190, 600), "task_retry_contact", lambda *_: forms.retry(True), "unreachable"),
            *_report_outside(story),
        ]
    if not late and rng.random() < WRITTEN_REPLY_SHARE:
        steps = _written_reply(story, reply_delay)
    else:
        mark = path if late else None
        steps = [Step(reply_delay, "task_reply_customer", lambda *_: forms.reply(True), mark)]
    visit = _minutes(rng, 60, 20 * 60)
    dissatisfied = path.startswith("dissatisfied") and not round_two
    steps.append(Step(visit, "task_return_visit", lambda *_: forms.return_visit(story, not dissatisfied)))
    if dissatisfied:
        judgement = "not_solved" if path == "dissatisfied_redispatch" else "unreasonable"
        steps.append(
            Step(
                _minutes(rng, 30, 300),
                "task_analyse_dissatisfaction",
                lambda *_: forms.analysis(judgement),
                path,
            )
        )
        if judgement == "not_solved":  # V1: the second dispatch goes through the centre's review
            steps.append(Step(_minutes(rng, 5, 25), "task_review_dispatch", lambda *_: forms.dispatch(story)))
            if story.kind == "major":  # T1: the re-handling plan is approved again
                steps.append(Step(_minutes(rng, 5, 20), "task_approve_plan", lambda *_: forms.approve_plan()))
            steps += _handling(story, second=True)
            steps.append(Step(_minutes(rng, 10, 90), "task_review_reply", lambda *_: forms.review(True)))
            return steps + _reply_and_visit(story, round_two=True)
    return steps + _report_outside(story)


def _written_reply(story: Story, delay: timedelta) -> list[Step]:
    """R3: drafted, reviewed by specialist and legal, approved by the supervisor, then sent."""
    rng = story.rng
    reviews = ["task_review_written_specialist", "task_review_written_legal", "task_approve_written_reply"]
    return [
        Step(delay, "task_reply_customer", lambda *_: forms.written_reply(), "written_reply"),
        *(Step(_minutes(rng, 10, 60), element, lambda *_: forms.written_review()) for element in reviews),
        Step(_minutes(rng, 5, 30), "task_send_written_reply", lambda *_: forms.send_written_reply(story)),
    ]


def _report_outside(story: Story) -> list[Step]:
    """T7: however an escalated complaint closes, the desk reports back to the outside unit first."""
    if story.kind != "escalated":
        return []
    return [Step(_minutes(story.rng, 60, 300), "task_report_outside", lambda *_: forms.report_outside())]


# ----------------------------------------------------------------------------- running them
