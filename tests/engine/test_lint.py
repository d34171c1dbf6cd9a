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
    pinned = [p for p in refused.value.problems if "leaves exclusive gateway" in p.message]
    assert [(p.file, p.element_id) for p in pinned] == [("review_dispatch.bpmn", "flow_major_plan")]
    assert "without a condition" in pinned[0].message  # (SpiffWorkflow's parser says so too, later)


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


def test_a_form_that_lost_a_field_its_validator_reads_is_refused_pinned_to_the_field():
    """dispatch_order (L2) reads 'department': the dispatch form without it cannot be deployed."""
    import json

    files = dict(load_bundle(BUNDLE).files)
    schema = json.loads(files["forms/review_dispatch.json"])
    del schema["properties"]["department"]
    schema["required"] = []
    files["forms/review_dispatch.json"] = json.dumps(schema, ensure_ascii=False, indent=2).encode()
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(bundle_from_files(files), REGISTRY)
    problems = [p for p in refused.value.problems if "department" in p.message]
    on_form = [p for p in problems if p.file == "forms/review_dispatch.json"]
    assert len(on_form) == 1 and on_form[0].message.startswith("field 'department':")
    text = files["forms/review_dispatch.json"].decode()
    assert on_form[0].line == text[: text.index('"properties"')].count("\n") + 1  # where the field was
    on_task = [p for p in problems if p.element_id == "task_review_dispatch"]
    assert len(on_task) == 1 and "dispatch_order" in on_task[0].message
