"""Every diagram of the bundle reads at fit-to-screen (issue 10).

A process owner opens the map or a path's diagram on a 1600 x 900 viewport: at a scale of
at least 0.6 the bilingual labels stay legible, so the whole drawing (shapes, edges, labels)
must fit 2666 x 1500 with a margin. A process keeps to 40 flow nodes, no two sequence
flows cross, and no label sits on a shape, a flow, a lane's line or name, or another label
(the map and the paths listed in LABELS_CLEAR).
The checks are plain functions so the flat version (the fixture the split replaced) can show
that they catch what the issue measured.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest
from lxml import etree

from tests.procedure.support import BUNDLE

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
VIEWPORT = (1600, 900)
MIN_SCALE = 0.6
MARGIN = 20  # the viewer's padding on each side when it fits the drawing
MAX_FLOW_NODES = 40
FLAT = Path(__file__).parent / "bundles" / "flat_v1" / "complaint.bpmn"
NOT_FLOW_NODES = {
    "laneSet",
    "sequenceFlow",
    "documentation",
    "extensionElements",
    "incoming",
    "outgoing",
    "ioSpecification",
    "dataObject",
    "dataObjectReference",
    "textAnnotation",
    "association",
}


def diagrams() -> list[Path]:
    return sorted(BUNDLE.glob("*.bpmn"))


def flow_node_counts(root) -> dict[str, int]:
    """Process or subprocess id -> the flow nodes drawn directly in it.

    A subprocess counts as one node of its parent and as a container of its own: each is
    read as one picture (an event subprocess is a box beside the path it watches).
    """
    counts: dict[str, int] = {}

    def count(container) -> None:
        total = 0
        for element in container:
            name = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if not name or name in NOT_FLOW_NODES:
                continue
            total += 1
            if name in ("subProcess", "transaction", "adHocSubProcess"):
                count(element)
        counts[container.get("id")] = total

    for process in root.findall("bpmn:process", NS):
        count(process)
    return counts


def drawing_box(root) -> tuple[float, float, float, float]:
    """min x, min y, max x, max y over every shape, label and waypoint."""
    xs, ys = [], []
    for bounds in root.iterfind(".//dc:Bounds", NS):
        x, y, w, h = (float(bounds.get(k)) for k in ("x", "y", "width", "height"))
        xs += [x, x + w]
        ys += [y, y + h]
    for point in root.iterfind(".//di:waypoint", NS):
        xs.append(float(point.get("x")))
        ys.append(float(point.get("y")))
    return min(xs), min(ys), max(xs), max(ys)


def fit_scale(root) -> float:
    x1, y1, x2, y2 = drawing_box(root)
    return min(VIEWPORT[0] / (x2 - x1 + 2 * MARGIN), VIEWPORT[1] / (y2 - y1 + 2 * MARGIN))


def _proper_crossing(a, b) -> bool:
    """True when segments a and b cross at a point inside both (touching ends do not count)."""
    (p1, p2), (p3, p4) = a, b

    def orient(p, q, r) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2 = orient(p3, p4, p1), orient(p3, p4, p2)
    d3, d4 = orient(p1, p2, p3), orient(p1, p2, p4)
    return d1 * d2 < 0 and d3 * d4 < 0


def crossing_flows(root) -> list[tuple[str, str]]:
    flows = {flow.get("id") for flow in root.iterfind(".//bpmn:sequenceFlow", NS)}
    segments = []
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        if edge.get("bpmnElement") not in flows:
            continue
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        segments += [(edge.get("bpmnElement"), segment) for segment in zip(points, points[1:], strict=False)]
    return sorted(
        {
            tuple(sorted((first, second)))
            for (first, a), (second, b) in combinations(segments, 2)
            if first != second and _proper_crossing(a, b)
        }
    )


Box = tuple[float, float, float, float]  # x, y, width, height
CONTAINERS = {"lane", "participant"}
TITLE_BAND = 24  # an frames subprocess writes its name across its top: its children start below
SLACK = 2  # px a label may touch a neighbour without hiding it
HEADER = 30  # px: the band down a pool's or lane's left edge that holds its name


def _box(bounds) -> Box:
    return tuple(float(bounds.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _shrunk(box: Box, by: float = SLACK) -> Box:
    x, y, w, h = box
    return x + by, y + by, max(w - 2 * by, 0), max(h - 2 * by, 0)


def _boxes_meet(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _segment_meets_box(segment, box: Box) -> bool:
    """Liang-Barsky: does the segment pass through the (open) box?"""
    (x1, y1), (x2, y2) = segment
    x, y, w, h = box
    dx, dy = x2 - x1, y2 - y1
    low, high = 0.0, 1.0
    for p, q in ((-dx, x1 - x), (dx, x + w - x1), (-dy, y1 - y), (dy, y + h - y1)):
        if p == 0:
            if q <= 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low >= high:
            return False
    return True


def _outline(box: Box) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    x, y, w, h = box
    corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return list(zip(corners, corners[1:] + corners[:1], strict=True))


def label_overlaps(root) -> list[tuple[str, str]]:
    """(label's element, what it overlaps): another label, a shape, a sequence flow, or the border
    of an frames subprocess or a lane; and (child, subprocess) where a child sits in its title band.

    A label's box is its BPMNLabel bounds (bpmn-js draws the text centred inside them). Its own
    element and, for a flow's label, its own flow do not count: they are what it names.
    """
    kinds = {
        element.get("id"): etree.QName(element).localname for element in root.iter() if element.get("id")
    }
    frames, shapes, labels, segments = {}, {}, {}, []
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        element = shape.get("bpmnElement")
        box = _box(shape.find("dc:Bounds", NS))
        if kinds.get(element) in CONTAINERS or shape.get("isExpanded") == "true":
            frames[element] = box
            if kinds.get(element) in CONTAINERS:  # its name is written down its left edge
                shapes[f"{element} (name)"] = (box[0], box[1], HEADER, box[3])
        else:
            shapes[element] = box
        label = shape.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            labels[element] = _box(label)
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        element = edge.get("bpmnElement")
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        segments += [(element, segment) for segment in zip(points, points[1:], strict=False)]
        label = edge.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            labels[element] = _box(label)
    found = set()
    for owner, label in labels.items():
        inner = _shrunk(label)
        for other, box in [*labels.items(), *shapes.items()]:
            if other != owner and _boxes_meet(inner, box):
                found.add((owner, other))
        for flow, segment in segments:
            if flow != owner and _segment_meets_box(segment, inner):
                found.add((owner, flow))
        for sub, box in frames.items():
            if any(_segment_meets_box(side, inner) for side in _outline(box)):
                found.add((owner, sub))
    parent_of = {
        child.get("id"): element.get("id")
        for element in root.iterfind(".//bpmn:subProcess", NS)
        for child in element
        if child.get("id")
    }
    for child, box in shapes.items():
        sub = frames.get(parent_of.get(child, ""))
        if sub is not None and box[1] < sub[1] + TITLE_BAND:
            found.add((child, parent_of[child]))
    return sorted(found)


@pytest.mark.parametrize("path", diagrams(), ids=lambda path: path.name)
def test_no_process_has_more_than_40_flow_nodes(path):
    root = etree.parse(str(path)).getroot()
    counts = flow_node_counts(root)
    assert root.findall("bpmn:process", NS), f"{path.name} holds no process"
    assert {pid: n for pid, n in counts.items() if n > MAX_FLOW_NODES} == {}


@pytest.mark.parametrize("path", diagrams(), ids=lambda path: path.name)
def test_the_drawing_fits_a_1600_by_900_viewport_at_scale_0_6(path):
    root = etree.parse(str(path)).getroot()
    x1, y1, x2, y2 = drawing_box(root)
    assert fit_scale(root) >= MIN_SCALE, f"{path.name} draws {x2 - x1:.0f} x {y2 - y1:.0f}"


@pytest.mark.parametrize("path", diagrams(), ids=lambda path: path.name)
def test_no_two_sequence_flows_cross(path):
    assert crossing_flows(etree.parse(str(path)).getroot()) == []


def test_the_checks_catch_the_flat_version_the_split_replaced():
    """The single flat diagram of the first version fails all three checks."""
    root = etree.parse(str(FLAT)).getroot()
    assert flow_node_counts(root)["complaint"] > MAX_FLOW_NODES
    assert fit_scale(root) < MIN_SCALE
    assert len(crossing_flows(root)) > 0


def test_the_crossing_check_ignores_touching_ends_and_sees_a_cross():
    assert _proper_crossing(((0, 5), (10, 5)), ((5, 0), (5, 10)))
    assert not _proper_crossing(((0, 5), (10, 5)), ((10, 5), (10, 10)))  # a shared end
    assert not _proper_crossing(((0, 5), (10, 5)), ((5, 5), (5, 10)))  # a T-junction
    assert not _proper_crossing(((0, 5), (10, 5)), ((12, 0), (12, 10)))


# Checked for overlapping labels: the map and every path.
LABELS_CLEAR = [
    "complaint.bpmn",
    "first_contact.bpmn",
    "review_dispatch.bpmn",
    "handling.bpmn",
    "reply.bpmn",
    "return_visit.bpmn",
    "escalation.bpmn",
]


@pytest.mark.parametrize("name", LABELS_CLEAR)
def test_labels_sit_clear_of_shapes_flows_and_each_other(name):
    assert label_overlaps(etree.parse(str(BUNDLE / name)).getroot()) == []


def test_the_label_check_sees_the_overlaps_the_map_had_near_its_closing_gateways():
    """The flat version's closing gateway labels sat on the flows leaving them."""
    found = label_overlaps(etree.parse(str(FLAT)).getroot())
    assert len(found) > 10
    assert any(owner.startswith("gw_") and other.startswith("flow_") for owner, other in found)


def test_the_label_check_sees_a_flow_through_a_label_and_ignores_a_neighbour():
    assert _segment_meets_box(((0, 10), (100, 10)), (40, 0, 20, 20))  # through
    assert not _segment_meets_box(((0, 30), (100, 30)), (40, 0, 20, 20))  # below it
    assert not _segment_meets_box(((0, 10), (39, 10)), (40, 0, 20, 20))  # ends before it
    assert _boxes_meet(_shrunk((0, 0, 50, 20)), (45, 10, 30, 30))
    assert not _boxes_meet(_shrunk((0, 0, 50, 20)), (49, 0, 30, 20))  # touching within the slack
