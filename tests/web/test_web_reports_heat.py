"""The heat map's call activities sum their path's elements from the cached diagram index
(web/diagrams.py), not from the bundle XML parsed per report view: the numbers stay those the
XML walk gave (issue 10, item 4)."""

from __future__ import annotations

from lxml import etree

from engine.bundle import load_bundle
from engine.diagram_index import index_bundle
from tests.procedure.support import BUNDLE
from web.reports import heat_of_call_activities


def summed_from_the_xml(heat, bpmn_files):
    """The former per-view walk over every file's XML: the reference the index must match."""
    inside, calls = {}, {}
    for data in bpmn_files.values():
        root = etree.fromstring(data)
        for process in root.xpath(".//*[local-name()='process']"):
            inside[process.get("id")] = set(process.xpath(".//@id"))
            for call in process.xpath(".//*[local-name()='callActivity']"):
                calls[call.get("id")] = call.get("calledElement")
    summed = {}
    for call_id, process_id in calls.items():
        rows = [heat[element] for element in inside.get(process_id, set()) if element in heat]
        tasks = sum(row["tasks"] for row in rows)
        if tasks:
            total = sum(row["minutes"] * row["tasks"] for row in rows)
            late = sum(row["late"] for row in rows)
            summed[call_id] = {"tasks": tasks, "minutes": round(total / tasks), "late": late}
    return summed


def test_the_paths_sums_on_the_map_are_the_ones_the_xml_gave():
    """L2 late once in review and dispatch (150 min); handling 2 tasks of 60 min and an E3
    decision of 30 min, late once; handling is also called from the escalation path."""
    bundle = load_bundle(BUNDLE)
    index = index_bundle(bundle.bpmn_files, "complaint")
    heat = {
        "task_review_dispatch": {"tasks": 1, "minutes": 150, "late": 1},
        "task_handle_order": {"tasks": 2, "minutes": 60, "late": 0},
        "task_decide_extension": {"tasks": 1, "minutes": 30, "late": 1},
        "task_return_visit": {"tasks": 1, "minutes": 20, "late": 0},
    }
    summed = heat_of_call_activities(heat, index)
    assert summed["call_review_dispatch"] == {"tasks": 1, "minutes": 150, "late": 1}
    assert summed["call_handling"] == {"tasks": 3, "minutes": 50, "late": 1}
    assert summed["call_return_visit"] == {"tasks": 1, "minutes": 20, "late": 0}
    assert "call_reply" not in summed  # nothing of the reply path in the period
    assert summed == summed_from_the_xml(heat, bundle.bpmn_files)


def bpmn_element_ids(bpmn_files) -> list[str]:
    """Ids of BPMN elements (what heat rows are keyed by), not of extension elements such as a
    service task's operator, whose name several tasks share."""
    ids = []
    for data in bpmn_files.values():
        ids += etree.fromstring(data).xpath(
            "//*[namespace-uri()='http://www.omg.org/spec/BPMN/20100524/MODEL']"
            "[not(local-name()='process')]/@id"
        )
    return sorted(ids)


def test_every_element_of_the_bundle_heated_gives_the_same_sums_as_the_xml():
    bundle = load_bundle(BUNDLE)
    index = index_bundle(bundle.bpmn_files, "complaint")
    elements = bpmn_element_ids(bundle.bpmn_files)
    assert len(elements) == len(set(elements)) > 200
    heat = {
        element: {"tasks": 1 + n % 3, "minutes": 10 + n, "late": n % 2} for n, element in enumerate(elements)
    }
    summed = heat_of_call_activities(heat, index)
    assert set(summed) == set(index.calls)
    assert summed == summed_from_the_xml(heat, bundle.bpmn_files)
    assert heat_of_call_activities({}, index) == {}
