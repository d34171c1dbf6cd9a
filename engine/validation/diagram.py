"""Step 3, diagram rules: supported elements, lanes, and a shape or edge for every element,
so every deployed diagram opens in a modeler as it runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.bpmn_xml import BPMN_NS, element_kind
from engine.bundle import CONFIG_NAME
from engine.validation.problems import Document, Report

# Elements that must have a BPMNShape, and those that must have a BPMNEdge.
_SHAPE_TAGS = frozenset(
    f"{{{BPMN_NS}}}{name}"
    for name in [
        *("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"),
        *("boundaryEvent", "task", "userTask", "manualTask", "scriptTask", "serviceTask"),
        *("sendTask", "receiveTask", "businessRuleTask", "callActivity", "subProcess"),
        *("transaction", "adHocSubProcess", "exclusiveGateway", "inclusiveGateway"),
        *("parallelGateway", "eventBasedGateway", "complexGateway", "lane", "participant"),
        *("dataObjectReference", "dataStoreReference"),
    ]
)
_EDGE_TAGS = frozenset(f"{{{BPMN_NS}}}{name}" for name in ("sequenceFlow", "messageFlow"))

# Elements other modelers draw that this engine cannot run, with what to use instead.
_UNSUPPORTED = {
    f"{{{BPMN_NS}}}complexGateway": "use an exclusive, inclusive or parallel gateway with conditions",
    f"{{{BPMN_NS}}}businessRuleTask": "bundles carry no DMN decisions: use a script or service task",
    f"{{{BPMN_NS}}}choreographyTask": "choreographies are not executable",
    f"{{{BPMN_NS}}}subChoreography": "choreographies are not executable",
    f"{{{BPMN_NS}}}callChoreography": "choreographies are not executable",
}


def check_supported(doc: Document, report: Report) -> None:
    """Elements SpiffWorkflow 3.2 cannot execute, named plainly (its own message is "no support")."""
    for element in doc.root.iter(*_UNSUPPORTED):
        instead = _UNSUPPORTED[element.tag]
        report.lint(doc, element, f"{element_kind(element)} is not supported by this engine: {instead}")


def check_lanes(doc: Document, report: Report, config: Mapping[str, Any] | None) -> None:
    """With a ``[lanes]`` table, every lane must be in it: a lane nobody maps offers its tasks to nobody.

    Without the table a lane's name is its candidate group (``Runtime.candidate_group``).
    """
    mapped = (config or {}).get("lanes")
    if not isinstance(mapped, Mapping):
        return
    for lane in doc.xpath(".//bpmn:lane"):
        name = lane.get("name") or ""
        if name not in mapped:
            known = ", ".join(sorted(mapped)) or "none"
            report.lint(
                doc,
                lane,
                f"lane '{name}' is not in [lanes] of {CONFIG_NAME}, so no group would be offered "
                f"its tasks (known lanes: {known})",
            )


def check_diagram(doc: Document, report: Report) -> None:
    planes = {plane.get("bpmnElement") for plane in doc.xpath(".//bpmndi:BPMNPlane")}
    shapes = {shape.get("bpmnElement") for shape in doc.xpath(".//bpmndi:BPMNShape")}
    edges = {edge.get("bpmnElement") for edge in doc.xpath(".//bpmndi:BPMNEdge")}
    drawn_processes: set[str] = set()
    for collaboration in doc.xpath("./bpmn:collaboration"):
        if collaboration.get("id") in planes:
            drawn_processes.update(
                participant.get("processRef")
                for participant in doc.xpath("./bpmn:participant", collaboration)
            )
            _check_drawn(doc, report, collaboration, shapes, edges)

    for process in doc.xpath("./bpmn:process"):
        process_id = process.get("id")
        if not any(child.tag in _SHAPE_TAGS or child.tag in _EDGE_TAGS for child in process):
            continue  # an empty pool's process: nothing to draw
        if process_id not in planes and process_id not in drawn_processes:
            report.lint(
                doc,
                process,
                "the process has no diagram (no BPMNDiagram/BPMNPlane shows it): "
                "open and save it in a BPMN modeler",
            )
            continue
        _check_drawn(doc, report, process, shapes, edges)

    for di_element in doc.xpath(".//bpmndi:BPMNShape | .//bpmndi:BPMNEdge"):
        target = di_element.get("bpmnElement")
        if target and target not in doc.ids:
            report.add(
                doc.name,
                di_element.sourceline,
                di_element.get("id"),
                f"the diagram draws '{target}', which is not an element of this file",
            )


def _check_drawn(doc: Document, report: Report, container: Any, shapes: set[str], edges: set[str]) -> None:
    for element in container.iter():
        if element is container:
            continue
        element_id = element.get("id")
        if element.tag in _SHAPE_TAGS and element_id not in shapes:
            report.lint(doc, element, f"{element_kind(element)} has no shape in the diagram (BPMNShape)")
        elif element.tag in _EDGE_TAGS and element_id not in edges:
            report.lint(doc, element, f"{element_kind(element)} has no edge in the diagram (BPMNEdge)")
