"""engine/lint.py: each modeling rule marks the element the browser's bpmnlint plugin marks (issue 17).

The cases in lint_cases/ are shared with tests/browser/test_browser_lint.py, which runs the
plugin on the same files and expects the same element ids.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.bundle import bundle_from_files, load_bundle
from engine.lint import RULES, lint_document
from engine.validation import BundleInvalid, compile_bundle
from tasks.registry import REGISTRY
from tests.procedure.support import BUNDLE

CASES = Path(__file__).parent / "lint_cases"
EXPECTED = {  # rule -> the elements it marks in lint_cases/<rule>.bpmn (and nothing else is marked)
    "user-task-form": ["bad_task"],
    "user-task-lane": ["bad_task"],
    "deadline-timer-properties": ["bad_timer"],
    "deadline-timer-placement": ["bad_timer"],
    "gateway-conditions": ["bad_flow"],
}


def test_every_rule_has_a_case():
    assert set(EXPECTED) == set(RULES) == {path.stem for path in CASES.glob("*.bpmn")}


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_each_rule_marks_its_element_and_only_it(rule):
    problems = lint_document(etree.parse(str(CASES / f"{rule}.bpmn")).getroot())
    assert [(problem.rule, problem.element_id) for problem in problems] == [(rule, e) for e in EXPECTED[rule]]


def test_the_real_procedure_passes_every_rule():
    for path in sorted(BUNDLE.glob("*.bpmn")):
        assert lint_document(etree.parse(str(path)).getroot()) == [], path.name


def test_the_server_runs_the_rules_at_save_pinned_to_the_element():
    """gateway-conditions on the real bundle: L2's major-complaint gateway loses a condition (T1)."""
    files = dict(load_bundle(BUNDLE).files)
    text = files["review_dispatch.bpmn"].decode()
    condition = '\n      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
    condition += '"major" in complaint_types</bpmn:conditionExpression>\n    '
    assert condition in text
    files["review_dispatch.bpmn"] = text.replace(condition, "", 1).encode()
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(bundle_from_files(files), REGISTRY)
    pinned = [p for p in refused.value.problems if p.element_id == "flow_major_plan"]
    assert len(pinned) == 1 and "without a condition" in pinned[0].message
    assert pinned[0].file == "review_dispatch.bpmn"


def test_a_problem_validation_already_reports_is_listed_once():
    """user-task-form says what validation says, word for word: a save lists it once."""
    files = dict(load_bundle(BUNDLE).files)
    text = files["review_dispatch.bpmn"].decode()
    files["review_dispatch.bpmn"] = text.replace('value="review_dispatch.json"', 'value=""', 1).encode()
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(bundle_from_files(files), REGISTRY)
    pinned = [p for p in refused.value.problems if p.element_id == "task_review_dispatch"]
    assert [p.message for p in pinned if "has no form" in p.message] == [
        "user task has no form: add the spiffworkflow property formJsonSchemaFilename naming a file in forms/"
    ]
