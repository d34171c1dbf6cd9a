"""Every diagram of the bundle reads at fit-to-screen (issue 10).

A process owner opens the map or a path's diagram on a 1600 x 900 viewport: at a scale of
at least 0.6 the bilingual labels stay legible, so the whole drawing (shapes, edges, labels)
must fit 2666 x 1500 with a margin. A process keeps to 40 flow nodes, and no two sequence
flows cross. The checks are plain functions so the flat version (the fixture the split
replaced) can show that they catch what the issue measured.
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
