"""Which diagram draws what, in a deployed bundle: processes, their files, and who calls whom.

A bundle may be one flat process or a map whose call activities call one process per
file (and those may call further processes). Viewers need to know, without running
anything: the diagrams to offer (file, process, name), which process holds an element
id, which call activity opens which process, and the call chains from the main process
down to each one. All of it is read from the XML (lxml, no entities, no network), once
per version: versions are immutable, so callers may cache the index for good.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn_xml import NS

_FAR = float("inf")  # call activities without a shape are listed last
MAX_CHAINS = 64  # a process reachable many ways: enough to show, bounded against odd bundles


class DiagramIndexError(ValueError):
    """A bundle whose diagrams cannot be indexed; the message names the file or element."""


@dataclass(frozen=True)
class CallSite:
    """A call activity: its element id, the process it is drawn in and the process it calls."""

    element_id: str
    caller: str
    called: str


@dataclass(frozen=True)
class Diagram:
    """One process as a viewer opens it: the file holding it and the BPMNDiagram that draws it."""

    process_id: str
    name: str
    file: str
    diagram_id: str | None
    calls: tuple[CallSite, ...] = ()


@dataclass(frozen=True)
class DiagramIndex:
    main_process: str
    diagrams: tuple[Diagram, ...]  # the main process first, then in the order the map calls them
    files: Mapping[str, str]  # file name -> XML text
    process_of: Mapping[str, str]  # element id -> id of the process whose diagram draws it
    callers: Mapping[str, tuple[CallSite, ...]] = field(default_factory=dict)  # process -> call sites

    def diagram(self, process_id: str) -> Diagram:
        for diagram in self.diagrams:
            if diagram.process_id == process_id:
                return diagram
        raise KeyError(f"no diagram draws process {process_id!r}")

    @property
    def calls(self) -> dict[str, CallSite]:
        """Every call activity by element id."""
        return {site.element_id: site for diagram in self.diagrams for site in diagram.calls}

    def chains(self, process_id: str) -> list[tuple[str, ...]]:
        """Call-activity ids from the main process down to ``process_id``, one tuple per way there.

        The main process itself has the empty chain; a process nothing reaches has none.
        """
        found: list[tuple[str, ...]] = []
        queue: deque[tuple[str, tuple[str, ...]]] = deque([(self.main_process, ())])
        while queue and len(found) < MAX_CHAINS:
            process, chain = queue.popleft()
            if process == process_id:
                found.append(chain)
                continue
            for site in self._calls_in(process):
                if site.element_id not in chain:  # a recursive call is walked once
                    queue.append((site.called, (*chain, site.element_id)))
        return found

    def _calls_in(self, process_id: str) -> tuple[CallSite, ...]:
        try:
            return self.diagram(process_id).calls
        except KeyError:
            return ()


def index_bundle(bpmn_files: Mapping[str, bytes], main_process: str) -> DiagramIndex:
    """Index the ``*.bpmn`` files of one version; ``main_process`` is the version's main process."""
    found: dict[str, Diagram] = {}
    process_of: dict[str, str] = {}
    files: dict[str, str] = {}
    for file_name in sorted(bpmn_files):
        data = bpmn_files[file_name]
        try:
            root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as error:
            raise DiagramIndexError(f"{file_name}: not well-formed XML ({error})") from None
        files[file_name] = data.decode("utf-8")
        drawn_by = _diagrams_drawing(root)
        positions = _positions(root)
        for process in root.iterfind("bpmn:process", NS):
            process_id = process.get("id")
            if not process_id:
                raise DiagramIndexError(f"{file_name}: a process has no id")
            if process_id in found:
                raise DiagramIndexError(
                    f"{file_name}: process {process_id!r} is also in {found[process_id].file}"
                )
            for element in process.iter():
                element_id = element.get("id") if isinstance(element.tag, str) else None
                if element_id and element is not process:
                    process_of[element_id] = process_id
            calls = sorted(
                (
                    CallSite(call.get("id"), process_id, call.get("calledElement"))
                    for call in process.iterfind(".//bpmn:callActivity", NS)
                    if call.get("id") and call.get("calledElement")
                ),
                key=lambda site: positions.get(site.element_id, (_FAR, _FAR, site.element_id)),
            )
            name, diagram_id = drawn_by.get(process_id, (None, None))
            found[process_id] = Diagram(
                process_id=process_id,
                name=process.get("name") or name or process_id,
                file=file_name,
                diagram_id=diagram_id,
                calls=tuple(calls),
            )
    if main_process not in found:
        raise DiagramIndexError(f"main process {main_process!r} is in none of the diagrams")
    callers: dict[str, list[CallSite]] = {}
    for diagram in found.values():
        for site in diagram.calls:
            callers.setdefault(site.called, []).append(site)
    return DiagramIndex(
        main_process=main_process,
        diagrams=tuple(found[process_id] for process_id in _map_order(found, main_process)),
        files=files,
        process_of=process_of,
        callers={process_id: tuple(sites) for process_id, sites in callers.items()},
    )


def _map_order(found: Mapping[str, Diagram], main_process: str) -> list[str]:
    """Breadth first from the main process along its call activities (left to right), then the rest."""
    order: list[str] = []
    queue = deque([main_process])
    while queue:
        process_id = queue.popleft()
        if process_id in order or process_id not in found:
            continue
        order.append(process_id)
        queue.extend(site.called for site in found[process_id].calls)
    return order + sorted(set(found) - set(order))


def _diagrams_drawing(root) -> dict[str, tuple[str | None, str | None]]:
    """Process id -> (participant name, BPMNDiagram id) for every process a plane draws."""
    participants: dict[str, list[tuple[str, str | None]]] = {}
    for collaboration in root.iterfind("bpmn:collaboration", NS):
        participants[collaboration.get("id")] = [
            (participant.get("processRef"), participant.get("name"))
            for participant in collaboration.iterfind("bpmn:participant", NS)
            if participant.get("processRef")
        ]
    drawn: dict[str, tuple[str | None, str | None]] = {}
    for diagram in root.iterfind("bpmndi:BPMNDiagram", NS):
        plane = diagram.find("bpmndi:BPMNPlane", NS)
        target = plane.get("bpmnElement") if plane is not None else None
        if target in participants:
            for process_id, name in participants[target]:
                drawn.setdefault(process_id, (name, diagram.get("id")))
        elif target:
            drawn.setdefault(target, (None, diagram.get("id")))
    return drawn


def _positions(root) -> dict[str, tuple[float, float, str]]:
    """Element id -> (x, y, id) of its shape, to list call activities in reading order."""
    positions = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        bounds = shape.find("dc:Bounds", NS)
        element_id = shape.get("bpmnElement")
        if bounds is not None and element_id:
            try:
                positions[element_id] = (float(bounds.get("x", 0)), float(bounds.get("y", 0)), element_id)
            except ValueError:
                continue
    return positions
