"""Demo data: N complaints run through the real procedure in simulated time, ending at the real now.

Nothing is written behind the engine's back: every complaint is started, recorded, dispatched,
handled, replied to and visited through ``ProcessEngine`` commands with the real validators,
on a clock that advances (``engine.clock.FrozenClock``). Before each step the clock moves to
every timer due on the way and the engine's own fire path fires it (``fire_all_due``), so a
breach is recorded at its simulated instant, exactly as the server's scheduler would.

The simulated period ends at the real now (``end``): steps that would happen later are not
taken, so the complaints that arrived last are left open in the inboxes, with their timers
running, and the living system carries on from there. The same ``seed`` gives the same
complaints, paths and instants (relative to ``end``).

The mix (weights in :data:`KINDS` and :data:`PATHS`): ordinary, major (T1), repeat of a closed
complaint (T3), batch (T4) and escalated (T5-T7) complaints; resolutions at first contact (A2),
returned replies (E5), extensions (E3), late steps that breach L2, L4 or R4, dissatisfied return
visits (V1/H3: a second dispatch, or an unreasonable customer), unreachable customers (R6).

**Which form gets which data** is in one place, ``tasks/demo_forms.py``: when a form or a
validator changes, that is the module to adjust.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine.calendar import parse_duration
from engine.clock import FrozenClock
from engine.models import HumanTask, Instance
from tasks import config as cfg
from tasks import demo_forms as forms
from tasks import records, warning_share
from tasks.config import branch_zone

MAX_COMPLAINTS = 5000
MAX_DAYS = 60

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

# Work orders left waiting at the end so that the inbox shows its warnings (issue 13): an
# ordinary straight complaint turned into one whose department has not answered yet, its L4
# clock past the warning share (amber, and a warning notification) or past due (red).
WAITING = {"waiting_amber": 3, "waiting_red": 2}
NEVER = timedelta(days=3650)  # a step that is not taken before the period ends


class DemoError(ValueError):
    """Bad arguments, a database that is not empty, or a step the procedure refused."""


# ----------------------------------------------------------------------------- stories


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


@dataclass
class DemoReport:
    complaints: int
    start: datetime
    end: datetime
    seconds: float
    commands: int
    kinds: Counter = field(default_factory=Counter)
    paths: Counter = field(default_factory=Counter)  # paths whose distinguishing step was taken
    outcomes: Counter = field(default_factory=Counter)  # complaint record: status / outcome
    breaches: Counter = field(default_factory=Counter)  # deadline_breaches by clock

    def lines(self) -> list[str]:
        rate = self.complaints / self.seconds if self.seconds else 0.0
        return [
            f"demo: {self.complaints} complaints from {self.start.isoformat(timespec='minutes')} "
            f"to {self.end.isoformat(timespec='minutes')} in {self.seconds:.1f} s "
            f"({rate:.1f} complaints/s, {self.commands} commands)",
            "types: " + _counts(self.kinds),
            "paths: " + _counts(self.paths),
            "outcomes: " + _counts(self.outcomes),
            "breaches: " + (_counts(self.breaches) or "none"),
        ]


def _counts(counter: Counter) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items()))


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
    steps.append(Step(_minutes(rng, 30, 240), "task_review_reply", lambda *_: forms.review(True)))
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
            steps.append(Step(_minutes(rng, 30, 240), "task_review_reply", lambda *_: forms.review(True)))
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


def check_arguments(complaints: int, days: float) -> None:
    if not 1 <= complaints <= MAX_COMPLAINTS:
        raise DemoError(f"--complaints: must be between 1 and {MAX_COMPLAINTS}, not {complaints}")
    if not 1 <= days <= MAX_DAYS:
        raise DemoError(f"--days: must be between 1 and {MAX_DAYS}, not {days}")


def run_demo(
    engine: Any, clock: FrozenClock, *, complaints: int, seed: int, end: datetime, days: float = 7
) -> DemoReport:
    """Run the demo on ``engine`` (whose clock is ``clock``) into an empty database."""
    check_arguments(complaints, days)
    with engine.reader() as session:
        if session.scalar(select(func.count(Instance.id))):
            raise DemoError("the database already has complaints: the demo only fills an empty one")
    began = time.perf_counter()
    start = end - timedelta(days=days)
    clock.set(start)
    config = _config(engine)
    stories = plan_stories(complaints, seed=seed, start=start, end=end, zone=branch_zone(config))
    leave_waiting(stories, config, start=start, end=end)
    stories.sort(key=lambda story: (story.arrival, story.index))
    report = DemoReport(complaints=complaints, start=start, end=end, seconds=0.0, commands=0)
    queue: list[tuple[datetime, int, int]] = [
        (story.arrival, story.index, position) for position, story in enumerate(stories)
    ]
    heapq.heapify(queue)
    while queue:
        at, _, position = heapq.heappop(queue)
        if at > end:
            break
        _advance(engine, clock, at)
        story = stories[position]
        report.commands += _take_step(engine, story, at, report)
        if story.next_step < len(story.steps):
            following = at + story.steps[story.next_step].delay
            if following <= end:
                heapq.heappush(queue, (following, story.index, position))
    _advance(engine, clock, end)
    clock.set(end)
    engine.fire_all_due()
    report.commands += _claim_some(engine, random.Random(seed))
    _tally(engine, report)
    report.seconds = time.perf_counter() - began
    return report


def leave_waiting(stories: list[Story], config: Any, *, start: datetime, end: datetime) -> None:
    """Turn the last ordinary straight complaints into work orders still waiting at ``end``
    (:data:`WAITING`): dispatched so long ago that their L4 clock is past its warning share
    (amber: halfway between the warning and the due instant) or past due (red, by 6 h)."""
    handling = parse_duration(str(cfg.table(config, "handling_deadlines")["ordinary"]))
    share = warning_share.fraction(config, "L4")
    ages = {
        "waiting_amber": handling * (share + (1 - share) / 2),
        "waiting_red": handling + timedelta(hours=6),
    }
    candidates = [
        story
        for story in reversed(stories)
        if story.kind == "ordinary" and story.path == "straight" and story.channel in CHANNELS
    ]
    for path, count in WAITING.items():
        for _ in range(count):
            if not candidates:
                return
            story = candidates.pop(0)
            record, dispatch = timedelta(minutes=5), timedelta(minutes=10)
            arrival = end - ages[path] - record - dispatch
            if arrival < start:
                continue  # a period too short to show it
            story.path, story.arrival = path, arrival
            story.steps = [
                Step(record, "task_record_complaint"),
                Step(dispatch, "task_review_dispatch", lambda *_, story=story: forms.dispatch(story), path),
                Step(NEVER, "task_handle_order", lambda *_, story=story: forms.handling(story)),
            ]


def _config(engine: Any) -> Any:
    from engine.deployments import latest_deployment

    with engine.reader() as session:
        deployment = latest_deployment(session)
        if deployment is None:
            raise DemoError("nothing is deployed yet: run `complaints setup --bundle bpmn` first")
        return engine.runtime(deployment.id).config


def _advance(engine: Any, clock: FrozenClock, until: datetime) -> None:
    """Fire every timer due before ``until`` at its own simulated instant (the engine's fire path)."""
    while True:
        due = engine.next_timer_at()
        if due is None or due >= until:
            break
        clock.set(max(clock.now(), due + timedelta(milliseconds=1)))
        engine.fire_all_due()
    clock.set(max(clock.now(), until))


def _take_step(engine: Any, story: Story, now: datetime, report: DemoReport) -> int:
    if story.instance_id is None:  # arrival: the intake agent starts the complaint
        story.instance_id = engine.start(actor=ACTORS["intake"]).instance_id
        return 1
    step = story.steps[story.next_step]
    story.next_step += 1
    if step.element.startswith("message:"):
        engine.send_message(
            story.instance_id,
            step.element.split(":", 1)[1],
            actor=forms.DEPARTMENT_AGENTS[story.department],
            payload={"note": "正在处理 Being handled"},
        )
        return 1
    if step.element == "task_record_complaint":
        repeat_of = _closed_complaint_to_repeat(engine, story) if story.kind == "repeat" else None
        if story.kind == "repeat" and repeat_of is None:
            story.kind = "ordinary"  # nobody to repeat yet: an ordinary complaint
        data = forms.record(story, now, repeat_of)
        if story.kind == "repeat":
            data["complaint_types"] = ["repeat"]
        report.kinds[story.kind] += 1
    else:
        data = step.data(engine, story.instance_id, now) if step.data else {}
    rows = [row for row in engine.open_tasks(story.instance_id) if row.element_id == step.element]
    if not rows:
        open_now = sorted(row.element_id for row in engine.open_tasks(story.instance_id))
        raise DemoError(f"complaint #{story.index} ({story.path}): no open {step.element}; open: {open_now}")
    row = rows[0]
    actor = row.assignee or ACTORS.get(row.candidate_group or "", "demo")  # R5/T4 open assigned
    from engine.errors import InvalidInput

    try:
        engine.complete_task(row.id, actor=actor, data=data, actor_groups=[row.candidate_group])
    except InvalidInput as refused:
        raise DemoError(
            f"complaint #{story.index} ({story.path}): {step.element} refused: {refused}"
        ) from refused
    if step.mark:
        report.paths[step.mark] += 1
    return 1


def _claim_some(engine: Any, rng: random.Random, share: float = 0.4) -> int:
    """Leave the inboxes as people leave them: some open tasks claimed by their group's agent."""
    with engine.reader() as session:
        rows = session.execute(
            select(HumanTask.id, HumanTask.candidate_group)
            .where(HumanTask.status == "open", HumanTask.assignee.is_(None))
            .order_by(HumanTask.created_at, HumanTask.id)
        ).all()
    claimed = 0
    for task_id, group in rows:
        if group in ACTORS and rng.random() < share:
            engine.claim(task_id, actor=ACTORS[group], actor_groups=[group])
            claimed += 1
    return claimed


def _closed_complaint_to_repeat(engine: Any, story: Story) -> records.Complaint | None:
    """T3: a closed complaint of a customer who has nothing open now."""
    with engine.reader() as session:
        busy = select(records.Complaint.customer_phone).where(
            records.Complaint.status == "open", records.Complaint.customer_phone.is_not(None)
        )
        candidates = list(
            session.scalars(
                select(records.Complaint)
                .where(records.Complaint.status == "closed", records.Complaint.customer_phone.not_in(busy))
                .order_by(records.Complaint.id)
            )
        )
        session.expunge_all()
    return story.rng.choice(candidates) if candidates else None


def _tally(engine: Any, report: DemoReport) -> None:
    with engine.reader() as session:
        for status, outcome, count in session.execute(
            select(records.Complaint.status, records.Complaint.outcome, func.count()).group_by(
                records.Complaint.status, records.Complaint.outcome
            )
        ):
            report.outcomes[outcome or status] += count
        for clock, count in session.execute(
            select(records.DeadlineBreach.clock, func.count()).group_by(records.DeadlineBreach.clock)
        ):
            report.breaches[clock] += count
