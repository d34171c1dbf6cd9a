"""What-if before deploying (issue 14): a draft's figures replayed on recorded clocks, checked by hand.

History is built by hand (complaint and clock rows as the projection records them, see
``whatif_support``) or, for the running complaint, by the real procedure in simulated time.
Now is Friday 2026-11-27 09:00 Shanghai. The deployed figures (bpmn/procedure.toml): L2 2 h
ordinary / 30 min urgent; L4 48 h / 24 h; R4 2 working hours on 08:00-12:00 + 14:30-20:00.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import drafts
from engine.deployments import latest_deployment
from tasks import whatif
from tests.procedure import support
from tests.procedure.support import at, complete
from tests.procedure.whatif_support import (
    L2_THREE_HOURS,
    Clock,
    H,
    M,
    complaint,
    config_with,
    dispatch_history,
    text_with,
    took,
)

NOW = at(27, 9)


def draft_with(engine, *replacements) -> drafts.DraftView:
    """A draft of the deployed version whose procedure.toml has the replacements, saved."""
    draft = drafts.create_draft(engine, actor="owner", title="what if")
    files = dict(draft.bundle.files)
    files["procedure.toml"] = text_with(*replacements).encode()
    return drafts.save_draft(engine, draft.id, files, actor="owner")


def figures(result: whatif.WhatIf) -> dict[str, tuple[int, int, int]]:
    """clock -> (measured, met as recorded, met under the draft)."""
    return {item.clock: (item.measured, item.met_actual, item.met_draft) for item in result.clocks}


def history(engine, build) -> None:
    with engine.writer() as session, session.begin():
        build(session.connection())


def replayed(engine, config, days=30) -> whatif.WhatIf:
    with engine.reader() as session:
        catalogue = engine.runtime(latest_deployment(session).id).clock_catalogue
        return whatif.replay(session.connection(), config, catalogue, now=NOW, days=days)


def test_l2_from_two_to_three_hours_dispatch_on_time_from_two_of_four_to_three_of_four(engine):
    """Dispatches of 2h10, 1h50, 3h20, 0h30: 2/4 on time under 2 h, 3/4 under the draft's 3 h."""
    history(engine, dispatch_history)
    draft = draft_with(engine, L2_THREE_HOURS)

    result = whatif.replay_draft(engine, draft, days=30)

    [l2] = result.clocks
    assert (l2.clock, l2.measured, l2.met_actual, l2.met_draft) == ("L2", 4, 2, 3)
    assert (l2.rate_actual, l2.rate_draft, l2.difference) == (0.5, 0.75, 0.25)
    assert l2.replayed
    assert result.complaints == 4
    assert (result.since, result.now) == (NOW - timedelta(days=30), NOW)
    # 60 days reach the complaint closed 40 days ago (2h30: late under 2 h, on time under 3 h)
    assert figures(whatif.replay_draft(engine, draft, days=60)) == {"L2": (5, 2, 4)}
    # the deployed figures replayed give the recorded rates back
    assert figures(replayed(engine, config_with())) == {"L2": (4, 2, 2)}


def test_order_type_urgent_stays_thirty_minutes_v1_rounds_urgent_round_one_by_its_flags(engine):
    """H1 / V1: the draft's figure of the order type the clock ran under, not the record's latest."""

    def build(connection):
        # urgent (major): L2 took 40 min of 30 -> late; the draft keeps urgent at 30 min
        complaint(
            connection,
            105,
            [took("L2", at(24, 9), 30 * M, 40 * M)],
            closed_at=at(25, 9),
            priority="urgent",
            flags="major",
        )
        # V1: the second dispatch made the record urgent, but round 1 ran ordinary (2 h):
        # L2 took 2h30 (late; on time under 3 h); round 2's L4 (urgent, 24 h) took 20 h
        complaint(
            connection,
            106,
            [
                took("L2", at(22, 9), 2 * H, 2 * H + 30 * M),
                took("L4", at(24, 10), 24 * H, 20 * H, round=2),
            ],
            closed_at=at(26, 9),
            priority="urgent",
            flags="ordinary",
        )
        # ordinary, one round: L4 (48 h) took 20 h
        complaint(connection, 107, [took("L4", at(23, 10), 48 * H, 20 * H)], closed_at=at(25, 9))

    history(engine, build)
    draft = config_with(L2_THREE_HOURS, ('urgent = "PT24H"', 'urgent = "PT12H"'))

    # L2: 105 late either way, 106 on time in 3 h. L4: 106 round 2 late under 12 h, 107 on time.
    assert figures(replayed(engine, draft)) == {"L2": (2, 0, 1), "L4": (2, 2, 1)}


def test_r4_working_hours_across_lunch_and_night_on_the_drafts_calendar(engine):
    """R4 2 working hours (08:00-12:00, 14:30-20:00) against 3 working hours, and a shorter lunch.

    | start | stopped | due 2 h | due 3 h | due 2 h, lunch 12:00-13:00 |
    |---|---|---|---|---|
    | Thu 11:00 | 16:00 | 15:30 late | 16:30 met | 14:00 late |
    | Wed 19:00 | Thu 09:30 | Thu 09:00 late | Thu 10:00 met | Thu 09:00 late |
    | Tue 15:00 | 18:30 | 17:00 late | 18:00 late | 17:00 late |
    | Tue 09:00 | 10:00 | 11:00 met | 12:00 met | 11:00 met |
    | Mon 11:00 | 14:30 | 15:30 met | 16:30 met | 14:00 late |
    """
    rows = [
        (at(26, 11), at(26, 15, 30), at(26, 16)),
        (at(25, 19), at(26, 9), at(26, 9, 30)),
        (at(24, 15), at(24, 17), at(24, 18, 30)),
        (at(24, 9), at(24, 11), at(24, 10)),
        (at(23, 11), at(23, 15, 30), at(23, 14, 30)),
    ]

    def build(connection):
        for number, (started, due, stopped) in enumerate(rows, start=301):
            complaint(connection, number, [Clock("R4", started, due, stopped)], closed_at=at(26, 18))

    history(engine, build)
    three_hours = config_with(('working_time = "PT2H"', 'working_time = "PT3H"'))
    short_lunch = config_with(('"14:30-20:00"]', '"13:00-20:00"]'))

    assert figures(replayed(engine, config_with())) == {"R4": (5, 2, 2)}
    assert figures(replayed(engine, three_hours)) == {"R4": (5, 2, 4)}
    assert figures(replayed(engine, short_lunch)) == {"R4": (5, 2, 1)}


def test_l4_extension_length_carried_onto_the_drafts_due_and_capped_by_the_outside_deadline(engine):
    """E3: the extension's length is added to the draft's due; T6: never past the outside unit's date.

    Draft: handling ordinary 36 h (was 48 h), urgent 30 h (was 24 h).

    | | order | recorded due | stopped | draft due |
    |---|---|---|---|---|
    | 401 | ordinary, extended 24 h | 48 + 24 = 72 h, met | 50 h | 36 + 24 = 60 h, met (36 h alone: late) |
    | 402 | escalated, outside unit at 20 h | 20 h, late | 22 h | min(30, 20) = 20 h, late |
    | 403 | ordinary | 48 h, met | 30 h | 36 h, met |
    | 404 | urgent (major) | 24 h, late | 26 h | 30 h, met |

    402's T7 (the outside unit's own date) is not a figure of procedure.toml: kept as recorded.
    """
    start = at(20, 10)

    def build(connection):
        complaint(
            connection, 401, [took("L4", start, 48 * H, 50 * H, extended_by=24 * H)], closed_at=at(26, 9)
        )
        complaint(
            connection,
            402,
            [took("L4", start, 20 * H, 22 * H), took("T7", start, 20 * H, 25 * H)],
            closed_at=at(26, 9),
            priority="urgent",
            flags="escalated",
            outside_due=start + 20 * H,
        )
        complaint(connection, 403, [took("L4", start, 48 * H, 30 * H)], closed_at=at(26, 9))
        complaint(
            connection,
            404,
            [took("L4", start, 24 * H, 26 * H)],
            closed_at=at(26, 9),
            priority="urgent",
            flags="major",
        )

    history(engine, build)
    draft = config_with(
        ('ordinary = "PT48H"', 'ordinary = "PT36H"'), ('urgent = "PT24H"', 'urgent = "PT30H"')
    )

    result = replayed(engine, draft)

    assert figures(result) == {"L4": (4, 2, 3), "T7": (1, 0, 0)}
    by_clock = {item.clock: item for item in result.clocks}
    assert by_clock["L4"].replayed and not by_clock["T7"].replayed


def test_running_clocks_overdue_at_once_or_within_the_day_under_the_draft(engine):
    """Draft L2 ordinary 1 h (was 2 h); now Friday 09:00.

    | | clock | started | due now | due under the draft | |
    |---|---|---|---|---|---|
    | 201 | L2 | 07:30 | 09:30 | 08:30 | at once |
    | 202 | L2 | 08:30 | 10:30 | 09:30 | within the day |
    | 203 | R4 | Thu 19:00 | 09:00 | 09:00 (not a draft figure) | at once |
    | 204 | L4 | Thu 10:00 | Sat 10:00 | Sat 10:00 | later than 24 h |
    | 205 | L4 | Wed 12:00 | 12:00 | 12:00 | within the day |
    """

    def build(connection):
        complaint(connection, 201, [took("L2", at(27, 7, 30), 2 * H, None)])
        complaint(connection, 202, [took("L2", at(27, 8, 30), 2 * H, None)])
        complaint(connection, 203, [Clock("R4", at(26, 19), at(27, 9))])
        complaint(connection, 204, [took("L4", at(26, 10), 48 * H, None)])
        complaint(connection, 205, [took("L4", at(25, 12), 48 * H, None)])
        # closed complaints are history, not running work, whatever their dues
        complaint(connection, 206, [took("L2", at(27, 7), 2 * H, 30 * M)], closed_at=at(27, 8))

    history(engine, build)
    result = replayed(engine, config_with(('ordinary = "PT2H"', 'ordinary = "PT1H"')))

    def listed(risks):
        return [(risk.number[-4:], risk.clock, risk.due_actual, risk.due_draft) for risk in risks]

    assert listed(result.overdue_at_once) == [
        ("0201", "L2", at(27, 9, 30), at(27, 8, 30)),
        ("0203", "R4", at(27, 9), at(27, 9)),
    ]
    assert listed(result.overdue_within_day) == [
        ("0202", "L2", at(27, 10, 30), at(27, 9, 30)),
        ("0205", "L4", at(27, 12), at(27, 12)),
    ]
    assert figures(result) == {"L2": (1, 1, 1)}


def test_a_real_complaint_at_dispatch_would_be_overdue_under_a_one_hour_draft(engine, clock):
    """The real procedure's L2 row (started at acceptance) replayed: due 11:00 now, 10:00 in the draft."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    draft = draft_with(engine, ('ordinary = "PT2H"', 'ordinary = "PT1H"'))
    clock.set(at(27, 10, 30))

    result = whatif.replay_draft(engine, draft)

    [risk] = result.overdue_at_once
    assert (risk.instance_id, risk.clock, risk.due_actual, risk.due_draft) == (
        instance_id,
        "L2",
        at(27, 11),
        at(27, 10),
    )
    assert risk.number == support.complaint_row(engine, instance_id).number
    # L1 (24 h from receipt, not a draft figure) is due tomorrow 09:00: within the day from 10:30
    assert [(r.clock, r.due_draft) for r in result.overdue_within_day] == [("L1", at(28, 9))]
    assert result.clocks == []  # nothing closed yet


@pytest.mark.parametrize(
    ("replacements", "days", "named"),
    [
        ((), 0, "days"),
        ((), 366, "days"),
        ((('ordinary = "PT2H"', 'ordinary = "two hours"'),), 30, "[dispatch_deadlines]"),
        ((('urgent = "PT30M"', 'urgnet = "PT30M"'),), 30, "urgent"),
        ((('working_time = "PT2H"', 'working_time = "2h"'),), 30, "[reply_deadline]"),
        ((('calendar = "customer_reply"', 'calendar = "reply"'),), 30, "[reply_deadline]"),
    ],
)
def test_bad_days_or_draft_figures_are_refused_naming_the_field(engine, replacements, days, named):
    with pytest.raises(ValueError, match=named.replace("[", r"\[").replace("]", r"\]")):
        replayed(engine, config_with(*replacements), days=days)
