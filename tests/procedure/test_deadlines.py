"""The deadline arithmetic of tasks/deadlines.py on its own (H1, L2, L4, R4/L5, L7)."""

from __future__ import annotations

from datetime import UTC

import pytest

from engine.calendar import calendar_from_config
from tasks import deadlines
from tests.procedure.support import CONFIG, SHANGHAI, at, iso

REPLY_CALENDAR = calendar_from_config("customer_reply", CONFIG["calendars"]["customer_reply"])
L2 = CONFIG["dispatch_deadlines"]
L4 = CONFIG["handling_deadlines"]


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["ordinary"], "ordinary"),
        (["major"], "urgent"),
        (["repeat"], "urgent"),
        (["batch"], "urgent"),
        (["escalated"], "urgent"),
        (["over_head"], "urgent"),
        (["major", "batch"], "urgent"),
        ([], "ordinary"),
    ],
)
def test_h1_urgent_is_any_of_major_repeat_batch_escalated(types, expected):
    assert deadlines.order_type(types) == expected


def test_l2_ordinary_two_hours_after_acceptance():
    assert deadlines.dispatch_due(iso(27, 9, 10), "ordinary", L2, SHANGHAI) == iso(27, 11, 10)


def test_l2_urgent_thirty_minutes_after_acceptance():
    assert deadlines.dispatch_due(iso(27, 9, 10), "urgent", L2, SHANGHAI) == iso(27, 9, 40)


def test_l2_is_plain_elapsed_time_through_the_night():
    assert deadlines.dispatch_due(iso(27, 23, 0), "ordinary", L2, SHANGHAI) == iso(28, 1, 0)


def test_l2_result_is_written_in_the_branch_zone_whatever_the_input_zone():
    utc_start = at(27, 9).astimezone(UTC)
    assert deadlines.dispatch_due(utc_start, "ordinary", L2, SHANGHAI) == "2026-11-27T11:00:00+08:00"


def test_l4_handling_deadline_from_the_config_table_by_order_type():
    assert deadlines.handling_due(at(27, 10), "ordinary", L4, SHANGHAI) == iso(29, 10)
    assert deadlines.handling_due(at(27, 10), "urgent", L4, SHANGHAI) == iso(28, 10)


def test_l4_unknown_order_type_names_the_table():
    with pytest.raises(ValueError, match="L4 handling_deadlines.*'vip'"):
        deadlines.handling_due(at(27, 10), "vip", L4, SHANGHAI)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="no UTC offset"):
        deadlines.dispatch_due("2026-11-27T09:00:00", "ordinary", L2, SHANGHAI)


@pytest.mark.parametrize(
    ("received", "due", "why"),
    [
        (at(27, 11, 0), at(27, 15, 30), "1 h before lunch, 1 h after it"),
        (at(27, 19, 30), at(28, 9, 30), "30 min before 20:00, 1 h 30 after 08:00"),
        (at(27, 12, 30), at(27, 16, 30), "received during lunch: counts from 14:30"),
        (at(27, 7, 0), at(27, 10, 0), "received before 08:00: counts from 08:00"),
        (at(27, 9, 0), at(27, 11, 0), "inside the morning window"),
        (at(27, 11, 30), at(27, 16, 0), "30 min before lunch, 1 h 30 after it"),
        (at(27, 18, 0), at(27, 20, 0), "ends exactly at the window's end"),
        (at(27, 20, 0), at(28, 10, 0), "received at 20:00: next morning"),
        (at(28, 19, 0), at(29, 9, 0), "Saturday to Sunday: every day counts"),
    ],
)
def test_r4_two_working_hours_excluding_night_and_lunch(received, due, why):
    assert deadlines.reply_due(received, REPLY_CALENDAR, "PT2H") == due.isoformat(), why


def test_l7_outcome_met():
    outcome = deadlines.deadline_outcome({}, "L2", iso(27, 11), iso(27, 10, 30))
    assert outcome == {
        "L2": {"clock": "L2", "due": iso(27, 11), "done_at": iso(27, 10, 30), "met": True, "late_by_s": 0.0}
    }


def test_l7_outcome_missed_by_how_much_and_other_clocks_kept():
    earlier = deadlines.deadline_outcome(None, "L2", iso(27, 11), iso(27, 10))
    outcome = deadlines.deadline_outcome(earlier, "L4", iso(29, 10), at(29, 12, 30).astimezone(SHANGHAI))
    assert outcome["L2"]["met"] is True
    assert outcome["L4"] == {
        "clock": "L4",
        "due": iso(29, 10),
        "done_at": iso(29, 12, 30),
        "met": False,
        "late_by_s": 9000.0,
    }
    assert earlier == {"L2": earlier["L2"]}, "the input mapping is not modified"


def test_l7_outcome_measured_again_replaces_the_earlier_one_e5():
    first = deadlines.deadline_outcome({}, "L4", iso(29, 10), iso(28, 10))
    again = deadlines.deadline_outcome(first, "L4", iso(29, 10), iso(29, 11))
    assert again["L4"]["done_at"] == iso(29, 11)
    assert again["L4"]["met"] is False


def test_l7_outcome_on_the_due_instant_is_met():
    assert deadlines.deadline_outcome({}, "R4", iso(27, 15, 30), iso(27, 15, 30))["R4"]["met"] is True


def test_l7_breach_record_fields():
    record = deadlines.breach_record("L2", iso(27, 11), at(27, 11, 0, 1), SHANGHAI)
    assert record == {"clock": "L2", "due": iso(27, 11), "at": iso(27, 11, 0, 1), "late_by_s": 1.0}
