"""Warnings before a breach (L7; L1, L2, L4 with E3 and E5): which clock is about to breach, and when.

The real bundle in simulated time (Friday 2026-11-27 09:00 Shanghai); ``[warnings] default = 0.75``.
Ordinary L2 is 2 h from acceptance, L4 48 h from dispatch, L1 24 h from receipt.
"""

from __future__ import annotations

import shutil

import pytest

from engine.bundle import load_bundle
from engine.validation import BundleInvalid
from tasks import warning_share, warning_sweep
from tests.procedure import support
from tests.procedure.support import BUNDLE, at, complete, iso


def clocks(engine, now, name: str) -> list[warning_sweep.RunningClock]:
    return [clock for clock in warning_sweep.about_to_breach(engine, now) if clock.clock == name]


def recorded(engine) -> int:
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record(), actor="ivy")
    return instance_id


def test_l2_warns_exactly_at_75_percent_not_a_second_before(engine, clock):
    """L2 ordinary: accepted 09:00, due 11:00; 75 % of the span is 10:30:00."""
    instance_id = recorded(engine)
    assert clocks(engine, at(27, 10, 29, 59), "L2") == []
    assert warning_sweep.next_warning_at(engine, at(27, 10, 29, 59)) == at(27, 10, 30)

    [l2] = clocks(engine, at(27, 10, 30), "L2")
    assert (l2.instance_id, l2.start, l2.due_at) == (instance_id, at(27, 9), at(27, 11))
    assert l2.warn_at == at(27, 10, 30)
    assert l2.candidate_group == support.CS_CENTER and l2.assignee is None
    assert l2.business_key.startswith("TS-20261127-")
    assert clocks(engine, at(27, 10, 59, 59), "L2") == [l2]
    # at the due instant the clock has breached: that is the breach's business, not a warning's
    assert clocks(engine, at(27, 11), "L2") == []


def test_a_stopped_clock_is_not_warned_about_and_the_next_one_is(engine, clock):
    """L2 stops at dispatch (10:00, before its 10:30 warning); L4 runs 48 h from 10:00: warn 36 h later."""
    instance_id = recorded(engine)
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    assert clocks(engine, at(27, 10, 45), "L2") == []
    assert clocks(engine, at(28, 21, 59, 59), "L4") == []
    [l4] = clocks(engine, at(28, 22), "L4")  # Friday 10:00 + 36 h
    assert (l4.due_at, l4.candidate_group) == (at(29, 10), support.DEPARTMENT)


def test_claimed_task_warns_its_assignee(engine, clock):
    instance_id = recorded(engine)
    task = support.open_task(engine, instance_id, "task_review_dispatch")
    engine.claim(task.id, actor="dora", actor_groups=[support.CS_CENTER])
    [l2] = clocks(engine, at(27, 10, 30), "L2")
    assert l2.assignee == "dora" and l2.task_id == task.id


def test_e3_extension_moves_the_due_and_gives_a_new_warning(engine, clock):
    """E3: approved at Saturday 09:00 until Monday 09:00: the same clock (started at dispatch,
    Friday 10:00) with a later due: its warning moves to 75 % of dispatch -> new due (71 h),
    Sunday 15:15, under a new key (a new due is a new warning)."""
    instance_id = recorded(engine)
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    [first] = clocks(engine, at(28, 22), "L4")
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 9)))
    complete(engine, instance_id, "task_decide_extension", {"extension_approved": True})
    assert clocks(engine, at(28, 22), "L4") == []  # the old due no longer runs
    assert clocks(engine, at(29, 15, 14, 59), "L4") == []
    [second] = clocks(engine, at(29, 15, 15), "L4")
    assert (second.start, second.due_at, second.warn_at) == (at(27, 10), at(30, 9), at(29, 15, 15))
    assert second.key != first.key


def test_e5_rework_keeps_the_span_from_dispatch(engine, clock):
    """E5: a returned reply re-opens handling with the same due; the warning still comes at 75 % of
    dispatch -> due, not at 75 % of the rework's shorter span."""
    instance_id = recorded(engine)
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    clock.set(at(28, 10))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review(qualified=False))
    assert clocks(engine, at(28, 21, 59), "L4") == []
    [l4] = clocks(engine, at(28, 22), "L4")
    assert (l4.start, l4.due_at, l4.warn_at) == (at(27, 10), at(29, 10), at(28, 22))


def test_l1_first_reply_warns_the_recorder_until_a_first_reply_is_recorded(engine, clock):
    """L1: 24 h from receipt (09:00) -> warning at 18 h (Saturday 03:00), to whoever recorded it (A1)."""
    instance_id = recorded(engine)
    assert clocks(engine, at(28, 2, 59, 59), "L1") == []
    [l1] = clocks(engine, at(28, 3), "L1")
    assert (l1.due_at, l1.assignee, l1.task_id) == (at(28, 9), "ivy", None)
    support.progress_told(engine, instance_id)
    assert clocks(engine, at(28, 3), "L1") == []


def test_l6_call_back_window_warns_from_the_first_attempt_while_attempts_go_on(engine, clock):
    """R6/L6: unreached at Saturday 10:00 -> 48 h for the further attempts -> warning at 36 h
    (Sunday 22:00) to the department, also after a further attempt re-opens the retry task."""
    instance_id = recorded(engine)
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    support.progress_told(engine, instance_id)
    complete(engine, instance_id, "task_handle_order", support.work_order_reply())
    complete(engine, instance_id, "task_review_reply", support.review())
    clock.set(at(28, 10))
    unreached = support.customer_reply(customer_reached=False, attempt_note="关机 Phone off")
    complete(engine, instance_id, "task_reply_customer", unreached)
    clock.set(at(28, 13))
    complete(engine, instance_id, "task_retry_contact", {"customer_reached": False, "attempt_note": "仍关机"})
    assert clocks(engine, at(29, 21, 59, 59), "L6") == []
    [l6] = clocks(engine, at(29, 22), "L6")
    assert (l6.start, l6.due_at, l6.candidate_group) == (at(28, 10), at(30, 10), support.DEPARTMENT)
    clock.set(at(28, 16))
    complete(engine, instance_id, "task_retry_contact", {"customer_reached": True, "attempt_note": "接通"})
    assert clocks(engine, at(29, 22), "L6") == []  # reached: the window closed


def test_warnings_config_overrides_per_clock_and_is_checked_at_deploy(engine, clock, tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(BUNDLE, folder)
    toml = folder / "procedure.toml"
    section = "[warnings]\ndefault = 0.75\n"
    original = toml.read_text(encoding="utf-8")
    assert section in original
    toml.write_text(original.replace(section, section + "L2 = 0.5\n"), encoding="utf-8")
    assert engine.deploy(load_bundle(folder), actor="owner").created
    recorded(engine)
    [l2] = clocks(engine, at(27, 10), "L2")  # half of 09:00 -> 11:00
    assert l2.fraction == 0.5 and l2.warn_at == at(27, 10)

    lines = original.splitlines()
    bad_line = lines.index("[warnings]") + 3  # right after the section's default
    toml.write_text(original.replace(section, section + 'L4 = 1.5\nR4 = "soon"\n'), encoding="utf-8")
    with pytest.raises(BundleInvalid) as refused:
        engine.validate(load_bundle(folder))
    problems = [str(problem) for problem in refused.value.problems]
    assert any(f"procedure.toml:{bad_line}:" in text and "[warnings.L4]" in text and "1.5" in text
               for text in problems), problems
    assert any("[warnings.R4]" in text and "'soon'" in text for text in problems), problems


def test_default_fraction_when_the_table_is_absent():
    assert warning_share.fraction({}, "L4") == 0.75
    assert warning_share.fraction({"warnings": {"default": 0.8}}, "L4") == 0.8
    assert warning_share.fraction({"warnings": {"default": 0.8, "L4": 0.9}}, "L4") == 0.9
    assert warning_sweep.config_problems({"warnings": {"default": 0}}) != []
    assert warning_sweep.config_problems({"warnings": {"default": True}}) != []
    assert warning_sweep.config_problems({"warnings": {"no such!": 0.5}}) != []
    assert warning_sweep.config_problems({"warnings": {"default": 0.5, "L2": 0.9}}) == []
