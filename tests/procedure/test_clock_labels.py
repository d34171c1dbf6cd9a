"""Every time limit of RULES.md has a deadline timer whose label shows the config's figure (issue 10).

The clocks are read from the version as deployed, through its clock catalogue
(``engine/clock_catalogue.py``, the timers' ``clock``/``figure`` properties); the words come
from procedure.toml through ``tasks.timer_figures`` and are checked here as literal text too,
so a wrong rendering cannot pass by agreeing with itself.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from lxml import etree

from engine.bundle import bundle_from_files, bundle_from_zip
from engine.deployments import bundle_config, latest_deployment
from engine.timer_labels import DeadlineTimer, LabelError, deadline_timers
from engine.validation import BundleInvalid
from tasks.timer_figures import duration_words, excluded_spans, figure_words
from tests.procedure.support import bundle

# Rule id -> the procedure.toml figure its timer shows (the shared convention of issue 10).
RULE_CLOCKS = {
    "L1": "first_reply_deadline",
    "L2": "dispatch_deadlines",
    "L3": "channel_transfer_deadline",
    "L4": "handling_deadlines",
    "R4": "reply_deadline",
    "L6": "contact_window",
    "T7": "on_order",
    "T1": "review_deadlines.plan_approval",
    "E3": "review_deadlines.extension_decision",
    "E4": "review_deadlines.reply_review",
    "R3": "review_deadlines.written_reply_review",
}


def _deployed(engine) -> tuple[list[DeadlineTimer], dict[str, Any], dict[str, bytes]]:
    with engine.reader() as session:
        stored = bundle_from_zip(latest_deployment(session).bundle_zip)
    timers = [timer for name, data in stored.bpmn_files.items() for timer in deadline_timers(name, data)]
    return timers, bundle_config(stored), dict(stored.bpmn_files)


def _catalogue_labels(engine) -> dict[str, list[tuple[str | None, str]]]:
    """Clock id -> (figure, label) of each of its timers, from the deployed version's catalogue."""
    with engine.reader() as session:
        deployment_id = latest_deployment(session).id
    runtime = engine.runtime(deployment_id)
    found: dict[str, list[tuple[str | None, str]]] = {}
    for timer in runtime.clock_catalogue.timers.values():
        name = runtime.specs[timer.process_id].task_specs[timer.element_id].bpmn_name or ""
        found.setdefault(timer.clock, []).append((timer.figure, name))
    return found


def _name(files: dict[str, bytes], timer: DeadlineTimer) -> str:
    root = etree.fromstring(files[timer.file])
    [element] = root.xpath("//*[@id=$id]", id=timer.element_id)
    return element.get("name") or ""


@pytest.mark.parametrize("rule", list(RULE_CLOCKS))
def test_every_time_limit_has_a_timer_labelled_with_its_figure(engine, rule):
    """L1, L2, L3, L4, R4/L5, L6, T7, T1, E3, E4, R3: a timer each, its label from the config."""
    _, config, _ = _deployed(engine)
    mine = _catalogue_labels(engine).get(rule)
    assert mine, f"no deadline timer carries clock {rule} in the deployed diagrams"
    for figure, label in mine:
        assert figure == RULE_CLOCKS[rule], label
        assert label == f"{rule} {figure_words(config, rule, figure)}"


def test_the_deployed_labels_read_as_the_owner_wrote_them(engine):
    """L2, L4, R4/L5, L1, T7 in literal words: the rendering is checked, not only agreed with."""
    timers, _, files = _deployed(engine)
    labels = {timer.clock: _name(files, timer) for timer in timers}
    assert labels["L2"] == "L2 2小时，紧急30分钟 2 h, urgent 30 min"
    assert labels["L4"] == "L4 48小时，紧急24小时 48 h, urgent 24 h"
    assert labels["R4"] == (
        "R4 2个工作小时（不含20:00-08:00及12:00-14:30）2 working hours, excluding 20:00-08:00 and 12:00-14:30"
    )
    assert labels["L1"] == "L1 24小时 24 h"
    assert labels["T7"] == "T7 按工单时限 the deadline on the work order"


def test_the_bpmn_folder_is_already_labelled_so_deploying_it_changes_no_byte(engine):
    """Idempotent: the source holds the labels the deploy writes, so its hash is the version's."""
    with engine.reader() as session:
        assert latest_deployment(session).content_hash == bundle().content_hash


def _with_config(edit: tuple[str, str]) -> Any:
    files = dict(bundle().files)
    text = files["procedure.toml"].decode()
    assert edit[0] in text
    files["procedure.toml"] = text.replace(*edit).encode()
    return bundle_from_files(files)


def test_changing_the_dispatch_figure_and_deploying_changes_the_stored_label(engine):
    """L2: [dispatch_deadlines] ordinary = PT3H gives a new version whose timer says 3 h."""
    outcome = engine.deploy(
        _with_config(('[dispatch_deadlines]\nordinary = "PT2H"', '[dispatch_deadlines]\nordinary = "PT3H"')),
        actor="process_owner",
    )
    assert outcome.created and outcome.version == 2
    timers, _, files = _deployed(engine)
    [l2] = [timer for timer in timers if timer.clock == "L2"]
    assert _name(files, l2) == "L2 3小时，紧急30分钟 3 h, urgent 30 min"


def test_a_changed_calendar_changes_the_reply_words(engine):
    """R4/L5: the excluded spans come from the calendar's windows, not from fixed text."""
    engine.deploy(
        _with_config(('windows = ["08:00-12:00", "14:30-20:00"]', 'windows = ["09:00-17:00"]')),
        actor="process_owner",
    )
    timers, _, files = _deployed(engine)
    [r4] = [timer for timer in timers if timer.clock == "R4"]
    assert _name(files, r4) == "R4 2个工作小时（不含17:00-09:00）2 working hours, excluding 17:00-09:00"


# --------------------------------------------------------------------------- refusals


def _with_timer_properties(old: str, new: str) -> Any:
    files = dict(bundle().files)
    text = files[L2_FILE].decode()
    assert text.count(old) == 1
    files[L2_FILE] = text.replace(old, new).encode()
    return bundle_from_files(files)


L2_FILE = "review_dispatch.bpmn"  # the review-and-dispatch path, where the L2 timer is drawn
L2_FIGURE = '<spiffworkflow:property name="figure" value="dispatch_deadlines"/>'


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("", "deadline timer with clock 'L2' has no 'figure' property"),
        (
            '<spiffworkflow:property name="figure" value="dispatch_deadline" />',
            "clock 'L2', figure 'dispatch_deadline': procedure.toml has no [dispatch_deadline]",
        ),
        (
            '<spiffworkflow:property name="figure" value="priority" />',
            "clock 'L2', figure 'priority': 0 is not a whole ISO 8601 duration",
        ),
        (
            '<spiffworkflow:property name="figure" value="branch" />',
            "clock 'L2', figure 'branch': [branch] has keys",
        ),
    ],
    ids=["no-figure", "unknown-key", "not-durations", "not-a-deadline-table"],
)
def test_a_timer_whose_figure_cannot_be_shown_is_refused_naming_it(make_engine, replacement, message):
    from tasks.registry import REGISTRY

    engine = make_engine(REGISTRY)
    with pytest.raises(BundleInvalid) as refused:
        engine.validate(_with_timer_properties(L2_FIGURE, replacement))
    [problem] = refused.value.problems
    assert (problem.file, problem.element_id) == (L2_FILE, "timer_dispatch_overdue")
    assert message in problem.message


def test_a_saved_draft_shows_the_label_the_deploy_will_write(make_engine):
    """The modeler's draft is stored labelled, so the owner sees the figure before deploying."""
    from engine import drafts
    from tasks.registry import REGISTRY

    engine = make_engine(REGISTRY)
    engine.deploy(bundle(), actor="process_owner")
    draft = drafts.create_draft(engine, actor="owner", title="dispatch in 3 hours")
    files = dict(draft.bundle.files)
    files["procedure.toml"] = (
        files["procedure.toml"].decode().replace('ordinary = "PT2H"', 'ordinary = "PT3H"', 1).encode()
    )
    saved = drafts.save_draft(engine, draft.id, files, actor="owner")
    assert 'name="L2 3小时，紧急30分钟 3 h, urgent 30 min"' in saved.bundle.files[L2_FILE].decode()
    assert saved.problems == []


# --------------------------------------------------------------------------- the words


@pytest.mark.parametrize(
    ("iso", "zh", "en"),
    [
        ("PT90M", "1小时30分钟", "1 h 30 min"),
        ("P1D", "1天", "1 day"),
        ("P2DT3H", "2天3小时", "2 days 3 h"),
        ("PT48H", "48小时", "48 h"),
        ("PT30M", "30分钟", "30 min"),
        ("PT45S", "45秒", "45 s"),
    ],
)
def test_durations_in_words(iso, zh, en):
    assert duration_words(iso) == (zh, en)


@pytest.mark.parametrize("bad", ["P1M", "PT", "2H", "PT0H", "", 7])
def test_a_duration_that_is_no_whole_span_is_refused(bad):
    with pytest.raises(LabelError):
        duration_words(bad)


@pytest.mark.parametrize(
    ("windows", "gaps"),
    [
        ([(540, 1020)], ["17:00-09:00"]),
        ([(480, 720), (870, 1200)], ["20:00-08:00", "12:00-14:30"]),
        ([(480, 720), (780, 1020), (1080, 1320)], ["22:00-08:00", "12:00-13:00", "17:00-18:00"]),
        ([(0, 1440)], []),
        ([(0, 720)], ["12:00-00:00"]),
    ],
    ids=["one-window", "two-windows", "three-windows", "all-day", "from-midnight"],
)
def test_the_excluded_spans_come_from_the_windows(windows, gaps):
    assert excluded_spans(windows) == gaps


def _config(text: str) -> dict[str, Any]:
    return tomllib.loads(text)


def test_three_windows_in_words():
    config = _config(
        '[calendars.c]\ntimezone = "Asia/Shanghai"\nwindows = ["08:00-12:00", "13:00-17:00", "18:00-22:00"]\n'
        '[reply]\ncalendar = "c"\nworking_time = "PT90M"\n'
    )
    assert figure_words(config, "R4", "reply") == (
        "1小时30分钟工作时间（不含22:00-08:00、12:00-13:00及17:00-18:00）"
        "1 h 30 min of working time, excluding 22:00-08:00, 12:00-13:00 and 17:00-18:00"
    )


def test_the_other_figure_shapes_in_words():
    config = _config(
        '[contact_window]\nspan = "PT48H"\nattempts = 3\nspacing = "PT3H"\n'
        '[review_deadlines]\nplan_approval = "PT30M"\n[first]\nspan = "P1D"\n'
    )
    assert figure_words(config, "L6", "contact_window") == (
        "48小时内至少3次，间隔3小时 at least 3 attempts in 48 h, 3 h apart"
    )
    assert figure_words(config, "T1", "review_deadlines.plan_approval") == "30分钟 30 min"
    assert figure_words(config, "L1", "first") == "1天 1 day"
    assert figure_words(config, "T7", "on_order") == "按工单时限 the deadline on the work order"


def test_a_working_time_on_an_unknown_calendar_is_refused():
    config = _config('[reply]\ncalendar = "nowhere"\nworking_time = "PT2H"\n')
    with pytest.raises(LabelError, match="calendar 'nowhere'"):
        figure_words(config, "R4", "reply")
