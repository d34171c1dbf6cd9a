"""Deploy-time validation: every problem found at once, each with file, line and element id.

Invalid bundles are built by copying ``bundles/valid`` and editing its text, so each test
shows the one thing it breaks. Expected lines are computed from the edited text, never
hard-coded, so the fixture can grow without breaking these tests.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bundle import load_bundle
from engine.handlers import HandlerRegistry
from engine.validation import (
    TIMER_QUOTES_MESSAGE,
    BundleInvalid,
    CompiledBundle,
    Problem,
    compile_bundle,
    parse_bpmn_safely,
)

VALID = Path(__file__).with_name("bundles") / "valid"
MAIN = "main.bpmn"
ARCHIVE = "archive.bpmn"
CONFIG = "procedure.toml"
FORMAL = 'xsi:type="bpmn:tFormalExpression"'
DURATION_TIMER = f'<bpmn:timeDuration {FORMAL}>"PT2H"</bpmn:timeDuration>'


def handlers(*, validators=("check_amount",), operations=("echo",)) -> HandlerRegistry:
    registry = HandlerRegistry()
    for name in validators:
        registry.validators[name] = lambda task_input: None
    for name in operations:
        registry.operations[name] = lambda call: dict(call.params)
    return registry


def make_variant(
    tmp_path: Path,
    edits: dict[str, list[tuple[str, str]]] | None = None,
    *,
    remove: tuple[str, ...] = (),
    write: dict[str, str | bytes] | None = None,
) -> Path:
    """A copy of the valid bundle; each (old, new) edit must match exactly once."""
    target = tmp_path / "bundle"
    shutil.copytree(VALID, target)
    for name, replacements in (edits or {}).items():
        path = target / name
        text = path.read_text(encoding="utf-8")
        for old, new in replacements:
            assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    for name in remove:
        (target / name).unlink()
    for name, content in (write or {}).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return target


def di_block(name: str, di_id: str) -> str:
    """The whole BPMNShape/BPMNEdge element with this id in a valid bundle file, whole lines."""
    text = (VALID / name).read_text(encoding="utf-8")
    start = text.rindex("\n", 0, text.index(f'id="{di_id}"')) + 1
    closing = re.compile(r"</bpmndi:BPMN(?:Shape|Edge)>\n").search(text, start)
    assert closing is not None
    return text[start : closing.end()]


def line_of(folder: Path, name: str, needle: str) -> int:
    """1-based line of the unique occurrence of ``needle`` in a file of the bundle."""
    text = (folder / name).read_text(encoding="utf-8")
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times in {name}"
    return text[: text.index(needle)].count("\n") + 1


def problems_of(folder: Path, registry: HandlerRegistry | None = None, **kwargs) -> list[Problem]:
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(load_bundle(folder), registry or handlers(), **kwargs)
    return refused.value.problems


def only(problems: list[Problem], **expected) -> Problem:
    """The one problem whose fields match ``expected`` (``message`` matches by substring)."""
    message = expected.pop("message", "")
    found = [
        problem
        for problem in problems
        if message in problem.message
        and all(getattr(problem, key) == value for key, value in expected.items())
    ]
    assert len(found) == 1, f"expected one problem like {expected} {message!r}, got:\n" + "\n".join(
        map(str, problems)
    )
    return found[0]


# --------------------------------------------------------------------------- the valid bundle


def test_the_valid_bundle_compiles():
    compiled = compile_bundle(load_bundle(VALID), handlers(), expression_names=["now", "due_in"])

    assert isinstance(compiled, CompiledBundle)
    assert compiled.main_process == "approval_process"
    assert set(compiled.specs) == {"approval_process", "archive_process"}
    assert set(compiled.subprocess_specs("approval_process")) == {"archive_process"}
    assert set(compiled.forms) == {"enter.json", "approve.json", "escalate.json"}
    assert compiled.forms["enter.json"]["required"] == ["amount", "description"]
    assert set(compiled.calendars) == {"office"}
    assert compiled.config["main_process"] == "approval_process"


class _EchoEnvironment(TaskDataEnvironment):
    def call_service(self, context, operation_name, operation_params, **_ignored):
        params = {name: spec["value"] for name, spec in operation_params.items()}
        return json.dumps({"operation": operation_name, **params})


def _start(compiled: CompiledBundle) -> BpmnWorkflow:
    workflow = BpmnWorkflow(
        compiled.specs[compiled.main_process],
        compiled.subprocess_specs(compiled.main_process),
        script_engine=PythonScriptEngine(environment=_EchoEnvironment()),
    )
    workflow.do_engine_steps()
    return workflow


def _ready(workflow: BpmnWorkflow) -> list:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def test_the_valid_bundle_runs_through_approval_service_and_call_activity():
    workflow = _start(compile_bundle(load_bundle(VALID), handlers()))

    [enter] = _ready(workflow)
    assert (enter.task_spec.bpmn_id, enter.task_spec.lane) == ("task_enter", "clerk")
    assert enter.task_spec.extensions["properties"] == {
        "formJsonSchemaFilename": "enter.json",
        "validator": "check_amount",
    }
    enter.set_data(amount=500, description="new laptop")
    enter.run()
    workflow.do_engine_steps()

    [approve] = _ready(workflow)
    assert (approve.task_spec.bpmn_id, approve.task_spec.lane) == ("task_approve", "manager")
    assert approve.data["approval_requested"] is True  # the preScript ran
    [timer] = [
        task
        for task in workflow.get_tasks(state=TaskState.WAITING)
        if task.task_spec.bpmn_id == "timer_approve_deadline"
    ]
    due = datetime.fromisoformat(timer.internal_data["event_value"])
    assert abs(due - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)

    approve.set_data(approved=True)
    approve.run()
    workflow.do_engine_steps()

    assert workflow.is_completed()
    assert workflow.data["notify_result"] == {"operation": "echo", "message": "request for 500"}
    assert workflow.data["archived"] is True


def test_the_valid_bundle_skips_approval_for_small_amounts():
    workflow = _start(compile_bundle(load_bundle(VALID), handlers()))
    [enter] = _ready(workflow)
    enter.set_data(amount=50, description="pens")
    enter.run()
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["route"] == "automatic"


# --------------------------------------------------------------------------- 1. XML safety


def test_a_doctype_is_refused(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    '<?xml version="1.0" encoding="UTF-8"?>\n',
                    '<?xml version="1.0"?>\n<!DOCTYPE definitions>\n',
                )
            ]
        },
    )
    only(problems_of(folder), file=MAIN, line=2, element_id=None, message="DOCTYPE")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions>&secret;</definitions>
"""


def test_billion_laughs_and_external_entities_are_refused(tmp_path):
    folder = make_variant(tmp_path, write={"laughs.bpmn": BILLION_LAUGHS, "xxe.bpmn": EXTERNAL_ENTITY})
    problems = problems_of(folder)
    only(problems, file="laughs.bpmn", line=2, message="DOCTYPE and entity declarations")
    only(problems, file="xxe.bpmn", line=2, message="DOCTYPE and entity declarations")


def test_a_doctype_hidden_by_another_encoding_is_still_refused():
    data = EXTERNAL_ENTITY.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    with pytest.raises(BundleInvalid) as refused:
        parse_bpmn_safely(data.encode("utf-16"), "wide.bpmn")
    [problem] = refused.value.problems
    assert problem.file == "wide.bpmn"
    assert "DOCTYPE" in problem.message


def test_parse_bpmn_safely_returns_the_root():
    root = parse_bpmn_safely((VALID / MAIN).read_bytes(), MAIN)
    assert root.get("id") == "definitions_approval"


def test_malformed_xml_names_the_line(tmp_path):
    folder = make_variant(tmp_path, {MAIN: [("</bpmn:scriptTask>", "</bpmn:scriptTsk>")]})
    line = line_of(folder, MAIN, "</bpmn:scriptTsk>")
    problem = only(problems_of(folder), file=MAIN, message="not well-formed XML")
    assert problem.line == line
    assert "scriptTsk" in problem.message


# --------------------------------------------------------------------------- 2. XSD and parser


def test_a_schema_error_names_line_and_element(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    "<bpmn:incoming>flow_start_enter</bpmn:incoming>",
                    "<bpmn:frobnicate />\n      <bpmn:incoming>flow_start_enter</bpmn:incoming>",
                )
            ]
        },
    )
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, "<bpmn:frobnicate />"),
        element_id="task_enter",
        message="bpmn:frobnicate",
    )


def test_every_schema_error_of_a_file_is_reported(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    "<bpmn:incoming>flow_start_enter</bpmn:incoming>",
                    "<bpmn:frobnicate />\n      <bpmn:incoming>flow_start_enter</bpmn:incoming>",
                ),
                ('<dc:Bounds x="1080" y="125" width="100" height="80" />', ""),
            ]
        },
    )
    problems = problems_of(folder)
    only(problems, file=MAIN, element_id="task_enter", message="bpmn:frobnicate")
    only(
        problems,
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmndi:BPMNShape id="service_notify_di"'),
        element_id="service_notify_di",
        message="dc:Bounds",
    )


def test_a_parser_error_gets_the_line_of_its_element(tmp_path):
    # Without the default, SpiffWorkflow refuses the unconditioned flow; its error has an
    # id but no line.
    folder = make_variant(tmp_path, {MAIN: [(' default="flow_no_approval"', "")]})
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:sequenceFlow id="flow_no_approval"'),
        element_id="flow_no_approval",
        message="without condition",
    )


def test_a_service_task_without_operator_is_reported_by_the_parser(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    """      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="echo" resultVariable="notify_result">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="message" type="str" value='"request for " + str(amount)' />
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
""",
                    "",
                )
            ]
        },
    )
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:serviceTask id="service_notify"'),
        element_id="service_notify",
        message="must have an operator",
    )


def test_a_call_to_a_missing_process_is_reported(tmp_path):
    folder = make_variant(
        tmp_path, {MAIN: [('calledElement="archive_process"', 'calledElement="shred_process"')]}
    )
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:callActivity id="call_archive"'),
        element_id="call_archive",
        message="'shred_process'",
    )


# --------------------------------------------------------------------------- 3. ids and diagram


def test_duplicate_ids_are_reported_in_plain_words(tmp_path):
    folder = make_variant(tmp_path, {MAIN: [('id="task_escalate_di"', 'id="task_enter_di"')]})
    problems = problems_of(folder)
    text = (folder / MAIN).read_text()
    second = text.index('id="task_enter_di"', text.index('id="task_enter_di"') + 1)
    problem = only(problems, file=MAIN, element_id="task_enter_di", message="duplicate id")
    assert problem.line == text[:second].count("\n") + 1
    first = line_of(folder, MAIN, 'bpmnElement="task_enter"')
    assert f"already used on line {first}" in problem.message
    assert not any("xs:ID" in p.message for p in problems)  # the schema's version is dropped


def test_a_flow_node_without_shape_is_reported(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    di_block(MAIN, "task_escalate_di"),
                    "",
                )
            ]
        },
    )
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:userTask id="task_escalate"'),
        element_id="task_escalate",
        message="no shape",
    )


def test_a_flow_without_edge_and_a_lane_without_shape_are_reported(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    di_block(MAIN, "flow_join_notify_di"),
                    "",
                ),
                (
                    di_block(MAIN, "lane_manager_di"),
                    "",
                ),
            ]
        },
    )
    problems = problems_of(folder)
    only(
        problems,
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:sequenceFlow id="flow_join_notify"'),
        element_id="flow_join_notify",
        message="no edge",
    )
    only(
        problems,
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:lane id="lane_manager"'),
        element_id="lane_manager",
        message="no shape",
    )


def test_a_process_without_diagram_is_reported(tmp_path):
    text = (VALID / ARCHIVE).read_text()
    diagram = text[text.index("  <bpmndi:BPMNDiagram") : text.index("</bpmn:definitions>")]
    folder = make_variant(tmp_path, {ARCHIVE: [(diagram, "")]})
    problems = problems_of(folder)
    only(
        problems,
        file=ARCHIVE,
        line=line_of(folder, ARCHIVE, '<bpmn:process id="archive_process"'),
        element_id="archive_process",
        message="no diagram",
    )
    assert not any(p.element_id == "script_archive" for p in problems)  # one problem, not ten


def test_a_shape_of_a_missing_element_is_reported(tmp_path):
    folder = make_variant(
        tmp_path,
        {ARCHIVE: [('bpmnElement="archive_end"', 'bpmnElement="archive_finish"')]},
    )
    problems = problems_of(folder)
    only(
        problems,
        file=ARCHIVE,
        line=line_of(folder, ARCHIVE, 'bpmnElement="archive_finish"'),
        element_id="archive_end_di",
        message="'archive_finish'",
    )
    only(problems, file=ARCHIVE, element_id="archive_end", message="no shape")


# --------------------------------------------------------------------------- 4. procedure.toml


def test_a_missing_config_is_reported(tmp_path):
    folder = make_variant(tmp_path, remove=(CONFIG,))
    only(problems_of(folder), file=CONFIG, line=None, element_id=None, message="no procedure.toml")


def test_a_toml_syntax_error_names_its_line(tmp_path):
    folder = make_variant(tmp_path, {CONFIG: [('timezone = "Europe/Paris"', 'timezone = "Europe/Paris')]})
    problem = only(problems_of(folder), file=CONFIG, message="TOML syntax error")
    assert problem.line == line_of(folder, CONFIG, 'timezone = "Europe/Paris')
    assert "(at line" not in problem.message


def test_main_process_is_required(tmp_path):
    folder = make_variant(tmp_path, {CONFIG: [('main_process = "approval_process"\n', "")]})
    only(
        problems_of(folder),
        file=CONFIG,
        line=None,
        element_id=None,
        message="main_process is missing",
    )


def test_main_process_must_be_a_process_of_the_bundle(tmp_path):
    folder = make_variant(
        tmp_path, {CONFIG: [('main_process = "approval_process"', 'main_process = "approval"')]}
    )
    problem = only(problems_of(folder), file=CONFIG, element_id=None, message="'approval'")
    assert problem.line == line_of(folder, CONFIG, "main_process =")
    assert "approval_process" in problem.message and "archive_process" in problem.message


def test_a_calendar_error_names_calendar_field_and_line(tmp_path):
    folder = make_variant(tmp_path, {CONFIG: [('timezone = "Europe/Paris"', 'timezone = "Europe/Atlantis"')]})
    problem = only(problems_of(folder), file=CONFIG, element_id=None, message="calendar 'office'")
    assert "field 'timezone'" in problem.message
    assert "Europe/Atlantis" in problem.message
    assert problem.line == line_of(folder, CONFIG, "timezone =")


def test_a_calendar_window_error_points_at_the_windows_line(tmp_path):
    folder = make_variant(tmp_path, {CONFIG: [('"14:30-18:00"', '"11:30-18:00"')]})
    problem = only(problems_of(folder), file=CONFIG, message="calendar 'office'")
    assert "windows[1]" in problem.message
    assert problem.line == line_of(folder, CONFIG, "windows =")


# --------------------------------------------------------------------------- 5. expressions


def test_a_condition_syntax_error(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    ">needs_approval</bpmn:conditionExpression>",
                    ">needs_approval ==</bpmn:conditionExpression>",
                )
            ]
        },
    )
    problem = only(problems_of(folder), file=MAIN, element_id="flow_needs_approval")
    assert problem.line == line_of(folder, MAIN, "needs_approval ==")
    assert "the condition is not valid Python" in problem.message


def test_a_script_syntax_error_points_at_the_line_inside_the_script(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    'route = "manager" if needs_approval else "automatic"',
                    'route = "manager" if needs_approval',
                )
            ]
        },
    )
    problem = only(problems_of(folder), file=MAIN, element_id="script_classify")
    assert problem.line == line_of(folder, MAIN, 'route = "manager" if needs_approval<')
    assert problem.line == line_of(folder, MAIN, "<bpmn:script>") + 1
    assert "the script is not valid Python" in problem.message
    assert "line 2 of the script" in problem.message


def test_an_indented_condition_is_refused_as_the_engine_would(tmp_path):
    # eval() strips leading spaces but not a newline followed by indentation.
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    ">needs_approval</bpmn:conditionExpression>",
                    ">\n        needs_approval\n      </bpmn:conditionExpression>",
                )
            ]
        },
    )
    problem = only(problems_of(folder), file=MAIN, element_id="flow_needs_approval")
    assert problem.line == line_of(folder, MAIN, "        needs_approval\n")
    assert "indentation" in problem.message


def test_a_bare_iso_timer_is_refused_with_a_hint(tmp_path):
    folder = make_variant(tmp_path, {MAIN: [('>"PT2H"</bpmn:timeDuration>', ">PT2H</bpmn:timeDuration>")]})
    problem = only(problems_of(folder), file=MAIN, element_id="timer_approve_deadline")
    assert problem.line == line_of(folder, MAIN, ">PT2H<")
    assert problem.message == TIMER_QUOTES_MESSAGE


def test_a_bare_iso_date_timer_gets_the_same_hint(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    DURATION_TIMER,
                    f"<bpmn:timeDate {FORMAL}>2026-01-05T17:00:00+01:00</bpmn:timeDate>",
                )
            ]
        },
    )
    only(
        problems_of(folder),
        file=MAIN,
        element_id="timer_approve_deadline",
        message=TIMER_QUOTES_MESSAGE,
    )


def test_a_timer_literal_that_is_no_duration_is_refused(tmp_path):
    folder = make_variant(tmp_path, {MAIN: [('>"PT2H"<', '>"PT2X"<')]})
    only(
        problems_of(folder),
        file=MAIN,
        element_id="timer_approve_deadline",
        message="is not an ISO 8601 duration",
    )


def test_a_naive_time_date_literal_is_refused(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    DURATION_TIMER,
                    f'<bpmn:timeDate {FORMAL}>"2026-01-05T17:00:00"</bpmn:timeDate>',
                )
            ]
        },
    )
    only(problems_of(folder), file=MAIN, element_id="timer_approve_deadline", message="no UTC offset")


def test_service_parameter_pre_script_and_priority_are_compiled(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                ("""value='"request for " + str(amount)'""", """value='"request for " + '"""),
                (
                    "approval_requested = True</spiffworkflow:preScript>",
                    "approval_requested = = True</spiffworkflow:preScript>",
                ),
                ('value="10 if amount &gt; 1000 else 0"', 'value="10 if amount &gt; 1000"'),
            ]
        },
    )
    problems = problems_of(folder)
    only(
        problems,
        file=MAIN,
        line=line_of(folder, MAIN, '<spiffworkflow:parameter id="message"'),
        element_id="service_notify",
        message="service parameter 'message' is not valid Python",
    )
    only(
        problems,
        file=MAIN,
        line=line_of(folder, MAIN, "approval_requested = = True"),
        element_id="task_approve",
        message="the pre-script is not valid Python",
    )
    only(
        problems,
        file=MAIN,
        line=line_of(folder, MAIN, 'value="10 if amount &gt; 1000"'),
        element_id="task_approve",
        message="the priority expression is not valid Python",
    )


def test_names_the_engine_provides_may_not_be_shadowed(tmp_path):
    folder = make_variant(tmp_path)
    problems = problems_of(folder, expression_names=["route", "comment", "notify_result"])
    only(
        problems,
        file=MAIN,
        line=line_of(folder, MAIN, 'route = "manager"'),
        element_id="script_classify",
        message="assigns 'route'",
    )
    only(
        problems,
        file="forms/approve.json",
        line=line_of(folder, "forms/approve.json", '"comment"'),
        message="field 'comment'",
    )
    only(problems, file=MAIN, element_id="service_notify", message="resultVariable 'notify_result'")


# --------------------------------------------------------------------------- 6. forms


def test_a_user_task_without_form(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    'name="formJsonSchemaFilename" value="escalate.json"',
                    'name="note" value="no form here"',
                )
            ]
        },
    )
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:userTask id="task_escalate"'),
        element_id="task_escalate",
        message="user task has no form",
    )


def test_a_form_file_that_is_missing(tmp_path):
    folder = make_variant(tmp_path, remove=("forms/approve.json",))
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, 'value="approve.json"'),
        element_id="task_approve",
        message="form 'approve.json' is not in forms/",
    )


def test_a_form_that_is_not_json(tmp_path):
    folder = make_variant(tmp_path, {"forms/enter.json": [('"title": "Amount",', '"title": "Amount"')]})
    problem = only(problems_of(folder), file="forms/enter.json", message="not valid JSON")
    # The decoder stops at the token after the missing comma.
    assert problem.line == line_of(folder, "forms/enter.json", '"title": "Amount"')


def test_a_form_that_is_not_a_json_schema(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            "forms/escalate.json": [
                ('"type": "string", "title": "Decision"', '"type": "text", "title": "Decision"')
            ]
        },
    )
    problem = only(problems_of(folder), file="forms/escalate.json", message="not a valid JSON Schema")
    assert problem.line == line_of(folder, "forms/escalate.json", '"type": "text"')
    assert "properties/decision/type" in problem.message


def test_a_form_with_an_unknown_schema_draft(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            "forms/enter.json": [
                ("https://json-schema.org/draft/2020-12/schema", "https://example.com/my-draft")
            ]
        },
    )
    only(problems_of(folder), file="forms/enter.json", line=2, message="unknown JSON Schema draft")


# --------------------------------------------------------------------------- 7. handlers, lanes


def test_an_unknown_validator(tmp_path):
    folder = make_variant(tmp_path)
    only(
        problems_of(folder, handlers(validators=("something_else",))),
        file=MAIN,
        line=line_of(folder, MAIN, 'value="check_amount"'),
        element_id="task_enter",
        message="validator 'check_amount' is not registered (known: something_else)",
    )


def test_an_unknown_service_operation(tmp_path):
    folder = make_variant(tmp_path)
    only(
        problems_of(folder, handlers(operations=())),
        file=MAIN,
        line=line_of(folder, MAIN, '<spiffworkflow:serviceTaskOperator id="echo"'),
        element_id="service_notify",
        message="service operation 'echo' is not registered",
    )


def test_a_user_task_outside_every_lane(tmp_path):
    folder = make_variant(
        tmp_path, {MAIN: [("        <bpmn:flowNodeRef>task_escalate</bpmn:flowNodeRef>\n", "")]}
    )
    only(
        problems_of(folder),
        file=MAIN,
        line=line_of(folder, MAIN, '<bpmn:userTask id="task_escalate"'),
        element_id="task_escalate",
        message="in no lane",
    )


# --------------------------------------------------------------------------- all at once


def test_all_problems_are_collected_at_once(tmp_path):
    folder = make_variant(
        tmp_path,
        {
            MAIN: [
                (
                    ">needs_approval</bpmn:conditionExpression>",
                    ">needs_approval ==</bpmn:conditionExpression>",
                )
            ],
            ARCHIVE: [
                (
                    "<bpmn:script>archived = True</bpmn:script>",
                    "<bpmn:script>archived = = True</bpmn:script>",
                )
            ],
            CONFIG: [('main_process = "approval_process"', 'main_process = "nope"')],
        },
    )
    problems = problems_of(folder, handlers(operations=()))
    only(problems, file=MAIN, element_id="flow_needs_approval", message="not valid Python")
    only(problems, file=ARCHIVE, element_id="script_archive", message="not valid Python")
    only(problems, file=CONFIG, message="main_process 'nope'")
    only(problems, file=MAIN, element_id="service_notify", message="'echo' is not registered")
    assert problems == sorted(problems, key=Problem.sort_key)


def test_the_exception_lists_one_problem_per_line(tmp_path):
    folder = make_variant(
        tmp_path, {CONFIG: [('main_process = "approval_process"', 'main_process = "nope"')]}
    )
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(load_bundle(folder), handlers(operations=()))
    lines = str(refused.value).splitlines()
    assert len(lines) == len(refused.value.problems) == 2
    assert lines[0].startswith("main.bpmn:")
    assert lines[1].startswith("procedure.toml:2: main_process 'nope'")


def test_problem_text_omits_missing_parts():
    assert str(Problem("a.bpmn", 3, "task_x", "bad")) == "a.bpmn:3: [task_x] bad"
    assert str(Problem("a.bpmn", None, "task_x", "bad")) == "a.bpmn: [task_x] bad"
    assert str(Problem("procedure.toml", 4, None, "bad")) == "procedure.toml:4: bad"
    assert str(Problem("procedure.toml", None, None, "bad")) == "procedure.toml: bad"
    assert str(Problem("", None, None, "bad")) == "bad"
