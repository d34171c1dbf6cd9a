"""The deployable bundle itself: valid, traceable to the rules, readable, consistent with its config.

A process owner must be able to open the map (``bpmn/complaint.bpmn``) and each path's diagram
in any modeler and see the procedure: these tests keep every diagram's layout clean (no
overlapping shapes, no flow crossing a shape, flows running left to right), every
rule-enforcing element naming its rule ids, the forms' fixed lists equal to the config's, and
docs/rules.md honest about what exists. Structural checks read the bundle as one: the set of
files is one version.
"""

from __future__ import annotations

import ast
import json
import re
from itertools import combinations
from pathlib import Path

import pytest
from lxml import etree

from engine.expressions import ENGINE_FUNCTION_NAMES
from engine.validation import compile_bundle
from tasks.registry import REGISTRY
from tests.procedure.support import BUNDLE, CONFIG, ROOT, bundle

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
DIAGRAMS = {path.name: etree.parse(str(path)).getroot() for path in sorted(BUNDLE.glob("*.bpmn"))}
PATHS = ["first_contact", "review_dispatch", "handling", "reply", "return_visit", "escalation"]
RULE_ID = re.compile(r"\b(?:A[1-5]|T[1-7]|H[1-7]|W[1-5]|E[1-5]|R[1-6]|V[1-3]|L[1-7]|C[1-5])\b")
ALL_RULES = [
    *(f"A{n}" for n in range(1, 6)),
    *(f"T{n}" for n in range(1, 8)),
    *(f"H{n}" for n in range(1, 8)),
    *(f"W{n}" for n in range(1, 6)),
    *(f"E{n}" for n in range(1, 6)),
    *(f"R{n}" for n in range(1, 7)),
    *(f"V{n}" for n in range(1, 4)),
    *(f"L{n}" for n in range(1, 8)),
    *(f"C{n}" for n in range(1, 6)),
]
CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")


def xpath(path: str, diagram: str | None = None) -> list:
    """Matches in one diagram, or in every diagram of the bundle."""
    roots = [DIAGRAMS[diagram]] if diagram else DIAGRAMS.values()
    return [found for root in roots for found in root.xpath(path, namespaces=NS)]


def bounds(diagram: str) -> dict[str, tuple[float, float, float, float]]:
    found = {}
    for shape in xpath(".//bpmndi:BPMNShape", diagram):
        b = shape.find("dc:Bounds", NS)
        found[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    return found


def flow_nodes(diagram: str | None = None) -> dict[str, str]:
    """Flow node id -> BPMN tag local name (no lanes, no participant) of the top-level process(es)."""
    return {
        element.get("id"): etree.QName(element).localname
        for process in xpath("./bpmn:process", diagram)
        for element in process
        if element.get("id") and etree.QName(element).localname not in ("laneSet", "sequenceFlow")
    }


def bilingual(text: str) -> bool:
    return bool(CJK.search(text) and LATIN.search(text))


# ----------------------------------------------------------------------------- validity


def test_bundle_compiles_with_the_real_handlers():
    compiled = compile_bundle(bundle(), REGISTRY, (*ENGINE_FUNCTION_NAMES, "timedelta", *REGISTRY.functions))
    assert compiled.main_process == "complaint"
    assert set(compiled.forms) == {path.name for path in (BUNDLE / "forms").glob("*.json")}


def test_the_map_calls_one_file_per_path_and_each_file_holds_its_process():
    """The map is short; each path is a call activity whose process is its own file."""
    assert set(DIAGRAMS) == {"complaint.bpmn", *(f"{name}.bpmn" for name in PATHS)}
    for name in PATHS:
        [process] = xpath("./bpmn:process", f"{name}.bpmn")
        assert process.get("id") == name
    called = {call.get("calledElement") for call in xpath(".//bpmn:callActivity", "complaint.bpmn")}
    assert called == set(PATHS)
    escalation_calls = {
        call.get("calledElement") for call in xpath(".//bpmn:callActivity", "escalation.bpmn")
    }
    # T7 from the receipt: the escalation path calls review and dispatch itself (issue 10).
    assert escalation_calls == {"review_dispatch", "handling", "reply", "return_visit"}
    assert all(
        etree.QName(task.getparent()).localname == "subProcess"
        for task in xpath(".//bpmn:userTask", "complaint.bpmn")
    ), "the map's own user tasks live only in its whole-complaint subprocesses"


def test_element_ids_are_unique_across_the_bundle():
    ids = [element.get("id") for element in xpath(".//bpmn:*[@id] | .//bpmndi:*[@id]")]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_lanes_are_bilingual_and_map_to_the_seven_actor_groups():
    lane_names = {lane.get("name") for lane in xpath(".//bpmn:lane")}
    assert lane_names == set(CONFIG["lanes"])
    assert all(bilingual(name) for name in lane_names)
    groups = {"intake", "cs_center", "dept:network", "supervisor", "escalation_desk", "specialist", "legal"}
    assert set(CONFIG["lanes"].values()) == groups


def test_department_lane_tasks_go_to_the_dispatched_departments_group():
    """L4, T6: one department lane, no copy of a task per department: every task of the lane
    reads its group from the data; the reminder falls back to the centre before dispatch (T2)."""
    lanes = [lane for lane in xpath(".//bpmn:lane") if CONFIG["lanes"][lane.get("name")] == "dept:network"]
    refs = {ref.text for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)}
    user_tasks = {task.get("id"): task for task in xpath(".//bpmn:userTask")}
    groups = {
        task_id: user_tasks[task_id].xpath(
            ".//spiffworkflow:property[@name='candidateGroup']/@value", namespaces=NS
        )
        for task_id in refs & set(user_tasks)
    }
    assert groups == {
        "task_handle_order": ["department_group"],
        # V3: the centre replies to an escalated complaint itself (reply_group), else the department.
        "task_reply_customer": ["reply_group"],
        "task_retry_contact": ["reply_group"],
        "task_send_written_reply": ["reply_group"],
    }
    [reminder] = xpath(".//bpmn:userTask[@id='task_handle_reminder']")
    assert reminder.xpath(".//spiffworkflow:property[@name='candidateGroup']/@value", namespaces=NS) == [
        'reminder_record.get("department_group") or "cs_center"'
    ]
    assert {code: entry["group"] for code, entry in CONFIG["departments"].items()} == {
        "network": "dept:network",
        "billing": "dept:billing",
        "marketing": "dept:marketing",
        "customer_service": "dept:customer_service",
    }


@pytest.mark.parametrize("tag", ["userTask", "serviceTask", "boundaryEvent", "exclusiveGateway", "endEvent"])
def test_every_rule_enforcing_element_names_its_rule_ids(tag):
    for element in xpath(f".//bpmn:{tag}"):
        documentation = element.findtext("bpmn:documentation", default="", namespaces=NS)
        assert RULE_ID.search(documentation), f"{element.get('id')} names no rule id in its documentation"
        name = element.get("name", "")
        clock = element.xpath(".//spiffworkflow:property[@name='clock']/@value", namespaces=NS)
        if clock:  # a deadline timer's name is the label the deploy writes (test_clock_labels)
            assert name.startswith(f"{clock[0]} ") and CJK.search(name), f"{element.get('id')} label {name!r}"
        else:
            assert bilingual(name), f"{element.get('id')} needs a Chinese + English name"


def _properties(element) -> dict[str, str]:
    return {
        prop.get("name"): prop.get("value")
        for prop in element.xpath(
            "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS
        )
    }


def test_deadline_timers_carry_their_clock_and_read_the_deadline_from_the_data_or_the_config():
    """Issue 10 convention: every deadline timer carries its clock (the rule id) and the
    procedure.toml figure it shows; carried dues are read from the data (E5 never restarts a
    clock), plain spans through deadline_span(), so no figure is spelled in a diagram."""
    timers = {
        element.get("id"): (
            element.get("attachedToRef"),
            element.get("cancelActivity"),
            element.findtext(".//bpmn:timeDate", namespaces=NS)
            or element.findtext(".//bpmn:timeDuration", namespaces=NS),
            _properties(element).get("clock"),
            _properties(element).get("figure"),
        )
        for element in xpath(".//bpmn:boundaryEvent[bpmn:timerEventDefinition]")
    }
    assert timers == {
        "timer_transfer_overdue": (
            "task_record_complaint",
            "false",
            'deadline_span("channel_transfer_deadline")',
            "L3",
            "channel_transfer_deadline",
        ),
        "timer_dispatch_overdue": (
            "task_review_dispatch",
            "false",
            "dispatch_due",
            "L2",
            "dispatch_deadlines",
        ),
        "timer_plan_approval_overdue": (
            "task_approve_plan",
            "false",
            'deadline_span("review_deadlines.plan_approval")',
            "T1",
            "review_deadlines.plan_approval",
        ),
        # L4 guards the handling and the E3 decision (sub_handling_order): it runs through the wait.
        "timer_handling_overdue": ("sub_handling_order", "false", "handling_due", "L4", "handling_deadlines"),
        "timer_extension_decision_overdue": (
            "task_decide_extension",
            "false",
            'deadline_span("review_deadlines.extension_decision")',
            "E3",
            "review_deadlines.extension_decision",
        ),
        "timer_reply_review_overdue": (
            "task_review_reply",
            "false",
            'deadline_span("review_deadlines.reply_review")',
            "E4",
            "review_deadlines.reply_review",
        ),
        "timer_reply_overdue": ("task_reply_customer", "false", "reply_due", "R4", "reply_deadline"),
        # T7 guards the whole escalation path, from its start to the report back.
        "timer_outside_overdue": ("sub_escalation_path", "false", "outside_deadline", "T7", "on_order"),
        # R6 / L6: the only interrupting one: the window's end moves the procedure on by itself.
        "timer_contact_window_over": ("task_retry_contact", "true", "contact_due", "L6", "contact_window"),
        "timer_written_review_overdue": (
            "sub_written_review",
            "false",
            'deadline_span("review_deadlines.written_reply_review")',
            "R3",
            "review_deadlines.written_reply_review",
        ),
    }
    [first_reply] = xpath(".//bpmn:startEvent[@id='start_first_reply_due']", "complaint.bpmn")
    assert (
        first_reply.findtext(".//bpmn:timeDate", namespaces=NS)
        == 'due_in(deadline_span("first_reply_deadline"))'
    )
    assert (_properties(first_reply)["clock"], _properties(first_reply)["figure"]) == (
        "L1",
        "first_reply_deadline",
    )
    for element in xpath(".//bpmn:boundaryEvent | .//bpmn:startEvent[bpmn:timerEventDefinition]"):
        figure = _properties(element).get("figure")
        if figure != "on_order" and figure is not None:
            table = CONFIG
            for part in figure.split("."):
                table = table[part]  # every figure names a key of procedure.toml


def test_e5_handling_deadline_is_computed_once_before_the_rework_loop():
    """E5: handling_due is written at dispatch (svc_handling_deadline, also at a second
    dispatch, V1/H3, which goes through the review again) and by an approved extension (E3),
    never on the E5 return:
    every loop re-enters after those writers, at gw_handling_merge."""
    writers = [
        operator.getparent().getparent().get("id")
        for operator in xpath(".//spiffworkflow:serviceTaskOperator[@resultVariable='handling_due']")
    ]
    assert writers == ["svc_handling_deadline"]
    script_writers = sorted(
        script.getparent().getparent().get("id")
        for script in xpath(".//spiffworkflow:postScript | .//spiffworkflow:preScript | .//bpmn:script")
        if re.search(r"^\s*handling_due\s*=", script.text or "", re.M)
    )
    assert script_writers == ["svc_extend_handling_deadline"]
    [returned] = xpath(".//bpmn:sequenceFlow[@id='flow_reply_returned']")
    assert returned.get("targetRef") == "gw_handling_merge"
    [into_merge] = xpath(".//bpmn:sequenceFlow[@id='flow_handling_deadline_merge']")
    assert into_merge.get("sourceRef") == "svc_handling_deadline"
    # handling.bpmn starts at the merge: a call after dispatch, after a second dispatch or
    # on the escalation path never writes handling_due itself.
    [handling_start] = xpath(".//bpmn:sequenceFlow[@id='flow_handling_start']", "handling.bpmn")
    assert handling_start.get("targetRef") == "gw_handling_merge"


def test_t2_reminders_are_a_non_interrupting_event_subprocess_in_the_department_lane():
    """T2: a reminder may come any number of times: a message-started, non-interrupting event
    subprocess (a message boundary event would fire only once), offered to the department."""
    [sub] = xpath(".//bpmn:subProcess[@id='sub_reminder']")
    assert sub.get("triggeredByEvent") == "true"
    [start] = sub.xpath("./bpmn:startEvent", namespaces=NS)
    assert start.get("isInterrupting") == "false"
    [definition] = start.xpath("./bpmn:messageEventDefinition", namespaces=NS)
    [message] = xpath(f".//bpmn:message[@id='{definition.get('messageRef')}']")
    assert message.get("name") == "reminder"
    [lane] = xpath(".//bpmn:lane[bpmn:flowNodeRef='sub_reminder']")
    assert CONFIG["lanes"][lane.get("name")] == "dept:network"


# ----------------------------------------------------------------------------- forms


def form_of(task) -> dict:
    name = task.xpath(".//spiffworkflow:property[@name='formJsonSchemaFilename']/@value", namespaces=NS)[0]
    return json.loads((BUNDLE / "forms" / name).read_text(encoding="utf-8"))


def test_one_form_per_user_task_with_bilingual_titles_and_known_required_fields():
    tasks = xpath(".//bpmn:userTask")
    names = [
        task.xpath(".//spiffworkflow:property[@name='formJsonSchemaFilename']/@value", namespaces=NS)[0]
        for task in tasks
    ]
    assert sorted(names) == sorted(path.name for path in (BUNDLE / "forms").glob("*.json"))
    for task in tasks:
        form = form_of(task)
        assert bilingual(form["title"]) and bilingual(form["description"]), task.get("id")
        assert set(form["required"]) <= set(form["properties"]), task.get("id")
        for field, spec in form["properties"].items():
            assert bilingual(spec["title"]), f"{task.get('id')}: {field} title"


def choices(spec: dict) -> dict[str, str]:
    return {option["const"]: option["title"] for option in spec["oneOf"]}


def labels(table: dict) -> dict[str, str]:
    return {code: value["label"] if isinstance(value, dict) else value for code, value in table.items()}


def test_c1_c2_c3_c5_form_lists_equal_the_config_lists():
    form = json.loads((BUNDLE / "forms" / "record_complaint.json").read_text(encoding="utf-8"))
    fields = form["properties"]
    assert choices(fields["channel"]) == labels(CONFIG["channels"])
    assert choices(fields["business_category"]) == labels(CONFIG["business_categories"])
    assert choices(fields["nature_category"]) == labels(CONFIG["nature_categories"])
    assert choices(fields["complaint_types"]["items"]) == labels(CONFIG["complaint_types"])
    assert choices(fields["batch_departments_notified"]["items"]) == labels(CONFIG["departments"])
    dispatch = json.loads((BUNDLE / "forms" / "review_dispatch.json").read_text(encoding="utf-8"))
    assert choices(dispatch["properties"]["department"]) == labels(CONFIG["departments"])


def test_a5_fields_named_in_the_config_exist_in_the_intake_form():
    form = json.loads((BUNDLE / "forms" / "record_complaint.json").read_text(encoding="utf-8"))
    for code, channel in CONFIG["channels"].items():
        for field in channel["a5_required"]:
            assert field in form["properties"], f"channel {code}: A5 field {field} is not on the form"


def test_h1_urgent_flags_are_configured_complaint_types():
    from tasks.deadlines import URGENT_TYPES

    assert set(CONFIG["complaint_types"]) > URGENT_TYPES
    assert set(CONFIG["dispatch_deadlines"]) == set(CONFIG["handling_deadlines"]) == set(CONFIG["priority"])


# ----------------------------------------------------------------------------- layout


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_every_element_and_flow_is_drawn_and_flows_have_orthogonal_waypoints(diagram):
    shapes, nodes = bounds(diagram), flow_nodes(diagram)
    assert set(nodes) <= set(shapes)
    for edge in xpath(".//bpmndi:BPMNEdge", diagram):
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.findall("di:waypoint", NS)]
        assert len(points) >= 2, edge.get("bpmnElement")
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            assert x1 == x2 or y1 == y2, f"{edge.get('bpmnElement')}: diagonal segment"


def _overlap(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_no_two_shapes_overlap_except_boundary_events_on_their_host(diagram):
    shapes, nodes = bounds(diagram), flow_nodes(diagram)
    hosts = {event.get("id"): event.get("attachedToRef") for event in xpath(".//bpmn:boundaryEvent", diagram)}
    for first, second in combinations(sorted(nodes), 2):
        if hosts.get(first) == second or hosts.get(second) == first:
            continue
        assert not _overlap(shapes[first], shapes[second]), f"{first} overlaps {second}"


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_every_shape_lies_inside_its_lane(diagram):
    shapes = bounds(diagram)
    for lane in xpath(".//bpmn:lane", diagram):
        lx, ly, lw, lh = shapes[lane.get("id")]
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            x, y, w, h = shapes[ref.text]
            inside = lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh
            assert inside, f"{ref.text} leaves its lane"


def _on_border(point, box, tolerance=1.0) -> bool:
    px, py = point
    x, y, w, h = box
    inside = x - tolerance <= px <= x + w + tolerance and y - tolerance <= py <= y + h + tolerance
    near_edge = min(abs(px - x), abs(px - x - w), abs(py - y), abs(py - y - h)) <= tolerance
    return inside and near_edge


def _crosses(segment, box) -> bool:
    (x1, y1), (x2, y2) = segment
    x, y, w, h = box
    left, right, top, bottom = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    return left < x + w and x < right + 0.001 and top < y + h and y < bottom + 0.001


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_flows_start_and_end_on_their_shapes_and_cross_no_other_shape(diagram):
    shapes, nodes = bounds(diagram), flow_nodes(diagram)
    hosts = {event.get("id"): event.get("attachedToRef") for event in xpath(".//bpmn:boundaryEvent", diagram)}
    flows = {flow.get("id"): flow for flow in xpath(".//bpmn:sequenceFlow", diagram)}
    for edge in xpath(".//bpmndi:BPMNEdge", diagram):
        flow = flows[edge.get("bpmnElement")]
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.findall("di:waypoint", NS)]
        assert _on_border(points[0], shapes[source]), f"{flow.get('id')} does not start on {source}"
        assert _on_border(points[-1], shapes[target]), f"{flow.get('id')} does not end on {target}"
        # A flow inside an (event) subprocess runs inside that subprocess's box.
        enclosing = (
            flow.getparent().get("id") if etree.QName(flow.getparent()).localname == "subProcess" else None
        )
        ignore = {source, target, hosts.get(source), hosts.get(target), enclosing}
        for segment in zip(points, points[1:], strict=False):
            for node in nodes:
                if node not in ignore:
                    assert not _crosses(segment, shapes[node]), f"{flow.get('id')} crosses {node}"


# The loops, each into its merge gateway: back into handling after an E5 return, a V1/H3
# second dispatch (on the map and on the escalation path) or an E3 decision; another R6
# attempt to reach the customer; an R3 review returning a written reply to the replier; a
# revised T1 plan back to the supervisor.
LOOPS_BACK = {
    "flow_reply_returned": "gw_handling_merge",
    "flow_map_second": "gw_handling_merge_map",
    "flow_esc_second": "gw_escalation_handling",
    "flow_extension_back": "gw_handling_merge",
    "flow_extension_refused": "gw_order_merge",  # E3 refused: handled again inside the L4 box
    "flow_retry_again": "gw_retry_merge",
    "flow_written_returned": "gw_reply_merge",  # R3: the review chain returned the draft
    "flow_plan_revised": "gw_plan_merge",
    "flow_impact_again": "gw_impact_loop",
    "flow_closing_refused": "gw_redispatch_merge",
}


@pytest.mark.parametrize("diagram", sorted(DIAGRAMS))
def test_flows_run_left_to_right_except_the_loops(diagram):
    shapes = bounds(diagram)
    for flow in xpath(".//bpmn:sequenceFlow", diagram):
        if flow.get("id") in LOOPS_BACK:
            assert flow.get("targetRef") == LOOPS_BACK[flow.get("id")], flow.get("id")
            continue
        sx, _, sw, _ = shapes[flow.get("sourceRef")]
        tx, _, tw, _ = shapes[flow.get("targetRef")]
        assert tx + tw / 2 >= sx + sw / 2, f"{flow.get('id')} runs right to left"


# ----------------------------------------------------------------------------- docs/rules.md


RULES_DOC = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")


def _table_rows() -> dict[str, str]:
    rows = {}
    for line in RULES_DOC.splitlines():
        match = re.match(r"^\|\s*\*{0,2}([A-Z]\d)\*{0,2}\s*\|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_docs_rules_table_lists_every_rule_with_a_status():
    rows = _table_rows()
    assert sorted(rows) == sorted(ALL_RULES)
    for rule, line in rows.items():
        assert re.search(r"\b(done|partly|not yet|no system step)\b", line), f"{rule}: no status"


TEST_REFERENCE = re.compile(r"`(test_\w+\.py::test_\w+)`")


def rules_without_tests(doc: str) -> list[str]:
    """Rule ids whose row names no test in its last column, unless marked "no system step"."""
    missing = []
    for line in doc.splitlines():
        match = re.match(r"^\|\s*\*{0,2}([A-Z]\d)\*{0,2}\s*\|", line)
        if not match or "no system step" in line:
            continue
        tests_column = line.rstrip().rstrip("|").rsplit("|", 1)[-1]
        if not TEST_REFERENCE.search(tests_column):
            missing.append(match.group(1))
    return missing


def test_every_rule_id_names_a_test_unless_no_system_step():
    assert rules_without_tests(RULES_DOC) == []


def test_the_rule_test_guard_fails_on_a_row_without_a_test():
    """The guard itself: a row with an empty test column, or a test named only in another
    column, is reported; a conduct rule marked "no system step" is not."""
    doc = "\n".join(
        [
            "| Rule | Status | Diagram | Handlers | Tests |",
            "|---|---|---|---|---|",
            "| A1 | done | `task_x` | `f()` | `test_main_path.py::test_a` |",
            "| A2 | not yet | | | |",
            "| A3 | partly: see `test_main_path.py::test_b` | `task_x` | | |",
            "| A4 | no system step: a conduct rule | | | |",
        ]
    )
    assert rules_without_tests(doc) == ["A2", "A3"]


def _test_names() -> set[str]:
    names = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {f"{path.name}::{node.name}" for node in tree.body if isinstance(node, ast.FunctionDef)}
    return names


def test_docs_rules_references_exist():
    """Every element id, handler and test docs/rules.md names exists (the doc stays honest)."""
    element_ids = set(flow_nodes()) | {node.get("id") for node in xpath(".//bpmn:subProcess/*[@id]")}
    handlers = set(REGISTRY.validators) | set(REGISTRY.operations) | set(REGISTRY.functions)
    tests = _test_names()
    for token in re.findall(r"`([^`]+)`", RULES_DOC):
        if re.fullmatch(r"(task|svc|timer|gw|end|start)_\w+", token):
            assert token in element_ids, f"docs/rules.md names unknown element {token}"
        elif token.startswith("test_") and "::" in token:
            assert token in tests, f"docs/rules.md names unknown test {token}"
        elif re.fullmatch(r"[a-z_]+\(\)", token):
            assert token[:-2] in handlers, f"docs/rules.md names unknown handler {token}"
