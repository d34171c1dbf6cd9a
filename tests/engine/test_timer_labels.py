"""Deadline timers labelled from the config at validation and deploy (issue 10), with a toy labeller.

The engine knows nothing of the words: a registered labeller gives them; here it echoes the
config value, so what is tested is the edit (in place, idempotent, DI kept) and the refusals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from engine.bundle import bundle_from_zip
from engine.deployments import latest_deployment
from engine.timer_labels import LabelError, label_width, relabel
from engine.validation import BundleInvalid, compile_bundle
from tests.engine.support import edited_bundle, engine_test_handlers

OPEN_TAG = (
    '<bpmn:boundaryEvent id="timer_approve_deadline" name="2 hours passed" '
    'attachedToRef="task_approve" cancelActivity="true">'
)
PROPERTIES = OPEN_TAG + """
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="clock" value="K1" />
          {figure}
        </spiffworkflow:properties>
      </bpmn:extensionElements>"""


def toy_labeller(config: Mapping[str, Any], clock: str, figure: str) -> str:
    value = config.get("spans", {}).get(figure)
    if not isinstance(value, str):
        raise LabelError(f"procedure.toml has no [spans] {figure}")
    return f"within {value}"


def handlers():
    registry = engine_test_handlers()
    registry.labeller(toy_labeller)
    return registry


def timer_bundle(tmp_path, figure_property: str, spans: str = 'approve = "PT2H"'):
    bundle = edited_bundle(tmp_path, "main.bpmn", OPEN_TAG, PROPERTIES.format(figure=figure_property))
    files = dict(bundle.files)
    files["procedure.toml"] = files["procedure.toml"] + f"\n[spans]\n{spans}\n".encode()
    from engine.bundle import bundle_from_files

    return bundle_from_files(files)


def test_the_timer_label_is_written_in_place_and_the_rest_is_kept_byte_for_byte(tmp_path):
    bundle = timer_bundle(tmp_path, '<spiffworkflow:property name="figure" value="approve" />')
    compiled = compile_bundle(bundle, handlers())
    before, after = bundle.files["main.bpmn"].decode(), compiled.bundle.files["main.bpmn"].decode()
    assert 'id="timer_approve_deadline" name="K1 within PT2H"' in after
    assert (
        after.replace('name="K1 within PT2H"', 'name="2 hours passed"').replace(
            '<dc:Bounds x="644" y="405" width="84" height="14" />',
            '<dc:Bounds x="650" y="405" width="72" height="14" />',
        )
        == before
    )
    assert (
        compiled.specs[compiled.main_process].task_specs["timer_approve_deadline"].bpmn_name
        == "K1 within PT2H"
    )
    assert compiled.bundle.files["archive.bpmn"] == bundle.files["archive.bpmn"]


def test_relabelling_a_labelled_bundle_changes_nothing_and_keeps_the_hash(tmp_path):
    bundle = timer_bundle(tmp_path, '<spiffworkflow:property name="figure" value="approve" />')
    once = compile_bundle(bundle, handlers()).bundle
    twice = compile_bundle(once, handlers()).bundle
    assert once.content_hash != bundle.content_hash
    assert twice.files == once.files and twice.content_hash == once.content_hash


def test_a_changed_figure_changes_the_deployed_label_and_the_version(tmp_path, make_engine):
    engine = make_engine(handlers())
    first = engine.deploy(
        timer_bundle(tmp_path / "a", '<spiffworkflow:property name="figure" value="approve" />'),
        actor="owner",
    )
    second = engine.deploy(
        timer_bundle(
            tmp_path / "b",
            '<spiffworkflow:property name="figure" value="approve" />',
            spans='approve = "PT3H"',
        ),
        actor="owner",
    )
    assert second.version == first.version + 1
    with engine.reader() as session:
        stored = bundle_from_zip(latest_deployment(session).bundle_zip).files["main.bpmn"].decode()
    assert 'name="K1 within PT3H"' in stored and 'PT2H"' not in stored.split("timer_approve_deadline")[1][:60]


def test_a_deadline_timer_without_figure_is_refused_at_the_timer(tmp_path):
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(timer_bundle(tmp_path, ""), handlers())
    [problem] = refused.value.problems
    assert (problem.file, problem.element_id) == ("main.bpmn", "timer_approve_deadline")
    assert "clock 'K1' has no 'figure' property" in problem.message
    assert problem.line is not None


def test_a_figure_the_labeller_cannot_show_is_refused_naming_the_figure(tmp_path):
    bundle = timer_bundle(tmp_path, '<spiffworkflow:property name="figure" value="nowhere" />')
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(bundle, handlers())
    [problem] = refused.value.problems
    assert problem.element_id == "timer_approve_deadline" and problem.file == "main.bpmn"
    assert "clock 'K1', figure 'nowhere': procedure.toml has no [spans] nowhere" in problem.message


def test_without_a_labeller_timers_are_left_as_drawn(tmp_path):
    bundle = timer_bundle(tmp_path, '<spiffworkflow:property name="figure" value="approve" />')
    assert compile_bundle(bundle, engine_test_handlers()).bundle.files == bundle.files


def test_label_bounds_widen_about_their_centre_and_never_shrink():
    xml = (
        b'<x:definitions xmlns:x="u"><x:boundaryEvent id="t" name=\'old\'/>'
        b'<d:BPMNShape xmlns:d="v" id="t_di" bpmnElement="t">'
        b'<c:Bounds xmlns:c="w" x="1" y="2" width="36" height="36"/>'
        b'<d:BPMNLabel><c:Bounds xmlns:c="w" x="100" y="50" width="90" height="14"/></d:BPMNLabel>'
        b"</d:BPMNShape>"
        b"</x:definitions>"
    )
    long = "L9 " + "长" * 30
    out = relabel(xml, {"t": long})
    assert f'name="{long}"'.encode() in out
    assert b'x="55" y="50" width="180" height="28"' in out  # 333 px of text: two lines of 180
    assert b'x="1" y="2" width="36" height="36"' in out  # the event's own bounds untouched
    short = relabel(xml, {"t": "L9 1 h"})
    assert b'x="100" y="50" width="90" height="14"' in short and label_width("L9 1 h") < 90
    assert relabel(out, {"t": long}) == out


def test_a_label_is_escaped_as_an_attribute():
    xml = b'<definitions><startEvent id="s" name="a"/></definitions>'
    assert (
        relabel(xml, {"s": 'S1 <"&>'})
        == b'<definitions><startEvent id="s" name="S1 &lt;&quot;&amp;&gt;"/></definitions>'
    )


def test_a_timer_without_name_gets_one_after_its_id():
    xml = b'<definitions><startEvent id="s" isInterrupting="false"/></definitions>'
    assert (
        relabel(xml, {"s": "S1 2 h"})
        == b'<definitions><startEvent id="s" name="S1 2 h" isInterrupting="false"/></definitions>'
    )
