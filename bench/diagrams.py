"""Generated benchmark diagrams (with diagram interchange, so they pass deploy validation)."""

from __future__ import annotations

import json
from pathlib import Path

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="definitions_{pid}" targetNamespace="http://bpmn.io/schema/bpmn">
"""
FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}


class _Diagram:
    """Lays elements out left to right on one row and records their shapes and edges."""

    def __init__(self, process_id: str, lane: str) -> None:
        self.process_id, self.lane = process_id, lane
        self.nodes: list[str] = []
        self.flows: list[str] = []
        self.shapes: list[str] = []
        self.edges: list[str] = []
        self.ids: list[str] = []
        self.x = 80

    def node(self, xml: str, element_id: str, width: int = 100, height: int = 80) -> None:
        self.nodes.append(xml)
        self.ids.append(element_id)
        y = 120 - height // 2
        self.shapes.append(
            f'<bpmndi:BPMNShape id="{element_id}_di" bpmnElement="{element_id}">'
            f'<dc:Bounds x="{self.x}" y="{y}" width="{width}" height="{height}"/></bpmndi:BPMNShape>'
        )
        self.positions = getattr(self, "positions", {})
        self.positions[element_id] = (self.x, y, width, height)
        self.x += width + 50

    def flow(self, flow_id: str, source: str, target: str, condition: str | None = None) -> None:
        body = (
            f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{condition}</bpmn:conditionExpression>'
            if condition
            else ""
        )
        self.flows.append(
            f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{body}</bpmn:sequenceFlow>'
        )
        sx, sy, sw, sh = self.positions[source]
        tx, ty, tw, th = self.positions.get(target, (self.x, 80, 100, 80))
        self.edges.append(
            f'<bpmndi:BPMNEdge id="{flow_id}_di" bpmnElement="{flow_id}">'
            f'<di:waypoint x="{sx + sw}" y="{sy + sh // 2}"/>'
            f'<di:waypoint x="{tx}" y="{ty + th // 2}"/></bpmndi:BPMNEdge>'
        )

    def xml(self, extra_shapes: list[str] = ()) -> str:
        refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in self.ids)
        width = self.x + 40
        return (
            HEADER.format(pid=self.process_id)
            + f'<bpmn:collaboration id="collab_{self.process_id}"><bpmn:participant id="part_{self.process_id}" '
            f'processRef="{self.process_id}"/></bpmn:collaboration>'
            + f'<bpmn:process id="{self.process_id}" isExecutable="true">'
            + f'<bpmn:laneSet id="lanes_{self.process_id}"><bpmn:lane id="lane_{self.process_id}" '
            f'name="{self.lane}">{refs}</bpmn:lane></bpmn:laneSet>'
            + "".join(self.nodes)
            + "".join(self.flows)
            + "</bpmn:process>"
            + f'<bpmndi:BPMNDiagram id="diagram_{self.process_id}"><bpmndi:BPMNPlane id="plane_{self.process_id}" '
            f'bpmnElement="collab_{self.process_id}">'
            + f'<bpmndi:BPMNShape id="part_{self.process_id}_di" bpmnElement="part_{self.process_id}" '
            f'isHorizontal="true"><dc:Bounds x="20" y="0" width="{width}" height="300"/></bpmndi:BPMNShape>'
            + f'<bpmndi:BPMNShape id="lane_{self.process_id}_di" bpmnElement="lane_{self.process_id}" '
            f'isHorizontal="true"><dc:Bounds x="50" y="0" width="{width - 30}" height="300"/></bpmndi:BPMNShape>'
            + "".join(self.shapes)
            + "".join(extra_shapes)
            + "".join(self.edges)
            + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"
        )


def complaint_sized(user_tasks: int = 12) -> str:
    """A linear chain of user tasks and script tasks, a gateway, boundary timers on every user task."""
    d = _Diagram("bench_process", "agents")
    d.node('<bpmn:startEvent id="start"/>', "start", 36, 36)
    previous = "start"
    extra_shapes = []
    for n in range(user_tasks):
        task, timer, script = f"task_{n}", f"timer_{n}", f"script_{n}"
        d.node(
            f'<bpmn:userTask id="{task}" name="Step {n}"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formJsonSchemaFilename" value="step.json"/>'
            f"</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>",
            task,
        )
        d.flow(f"flow_in_{n}", previous, task)
        x, y, _, _ = d.positions[task]
        d.nodes.append(
            f'<bpmn:boundaryEvent id="{timer}" attachedToRef="{task}" cancelActivity="false">'
            f'<bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"</bpmn:timeDuration>'
            f"</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        )
        extra_shapes.append(
            f'<bpmndi:BPMNShape id="{timer}_di" bpmnElement="{timer}">'
            f'<dc:Bounds x="{x + 60}" y="{y + 62}" width="36" height="36"/></bpmndi:BPMNShape>'
        )
        d.ids.append(timer)
        d.node(
            f'<bpmn:scriptTask id="{script}"><bpmn:script>steps_done = {n + 1}\n'
            f"checked = steps_done * 2 &gt; {n}</bpmn:script></bpmn:scriptTask>",
            script,
        )
        d.flow(f"flow_do_{n}", task, script)
        previous = script
    d.node('<bpmn:exclusiveGateway id="gateway" default="flow_low"/>', "gateway", 50, 50)
    d.flow("flow_gateway", previous, "gateway")
    d.node('<bpmn:endEvent id="end_high"/>', "end_high", 36, 36)
    d.node('<bpmn:endEvent id="end_low"/>', "end_low", 36, 36)
    d.flow("flow_high", "gateway", "end_high", condition="steps_done &gt; 5")
    d.flow("flow_low", "gateway", "end_low")
    return d.xml(extra_shapes)


def timer_only() -> str:
    """Start, wait until the instance's ``wake_at`` (an ISO instant with offset), end."""
    d = _Diagram("timer_process", "agents")
    d.node('<bpmn:startEvent id="start"/>', "start", 36, 36)
    d.node(
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
        "<bpmn:timeDate>wake_at</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        "wait",
        36,
        36,
    )
    d.node('<bpmn:endEvent id="end"/>', "end", 36, 36)
    d.flow("flow_1", "start", "wait")
    d.flow("flow_2", "wait", "end")
    return d.xml()


def write_bundle(folder: Path, file_name: str, xml: str, main_process: str) -> Path:
    (folder / "forms").mkdir(parents=True, exist_ok=True)
    (folder / file_name).write_text(xml)
    (folder / "forms" / "step.json").write_text(json.dumps(FORM))
    (folder / "procedure.toml").write_text(f'main_process = "{main_process}"\n')
    return folder
