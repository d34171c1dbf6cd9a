"""Issue 17: lint while drawing. The bpmnlint plugin marks the element engine/lint.py marks.

Each rule's case (tests/engine/lint_cases/<rule>.bpmn) is linted by the plugin in Chromium,
expecting the element ids tests/engine/test_lint.py expects of the server; then one rule is
broken on the real diagram in the editor and marked on the canvas before any save.
"""

from __future__ import annotations

import pytest

from tests.browser.test_browser_login import log_in
from tests.engine.test_lint import CASES, EXPECTED


@pytest.fixture
def editor(page, live_app):
    base = live_app.config["BASE_URL"]
    log_in(page, base, "owner")
    page.goto(f"{base}/modeler")
    page.get_by_label("Title").first.fill("Lint")
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_selector("#modeler[data-ready='true']")
    return page


@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_the_plugin_marks_the_same_element_as_the_server(editor, rule):
    xml = (CASES / f"{rule}.bpmn").read_text()
    found = editor.evaluate("xml => ComplaintsLint.lintXml(xml)", xml)
    assert [(item["rule"], item["id"]) for item in found] == [(rule, e) for e in EXPECTED[rule]]


def test_the_real_diagrams_have_no_lint_mark_and_a_removed_condition_is_marked_while_drawing(editor, shoot):
    page = editor
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    assert page.get_attribute("#modeler", "data-lint") == "0"
    page.fill("#find-element", "flow_major_plan")
    page.press("#find-element", "Enter")
    page.wait_for_selector("#modeler[data-diagram='review_dispatch.bpmn']")
    page.wait_for_function("() => document.querySelector('#prop-id').textContent === 'flow_major_plan'")
    page.fill("#prop-condition", "")
    page.wait_for_function("() => document.querySelector('#modeler').dataset.lint === '1'", timeout=5000)
    page.wait_for_selector(".lint-badge[data-element-id='flow_major_plan'][data-rule='gateway-conditions']")
    assert page.locator("g.djs-element.has-lint[data-element-id='flow_major_plan']").count() == 1
    assert page.get_attribute("#modeler", "data-lint") == "1"
    assert "without a condition" in page.text_content("#lint-list li[data-element-id='flow_major_plan']")
    shoot("lint-marks-the-flow")
    # The server says the same at save, on the same element.
    page.get_by_role("button", name="Save and validate").click()
    page.wait_for_selector(".problem-badge[data-element-id='flow_major_plan']")
    texts = page.locator("#problem-list li[data-element-id='flow_major_plan']").all_text_contents()
    assert any("leaves exclusive gateway" in text and "without a condition" in text for text in texts)
    page.fill("#prop-condition", '"major" in complaint_types')
    page.wait_for_function("() => document.querySelector('#modeler').dataset.lint === '0'")
    assert errors == []
