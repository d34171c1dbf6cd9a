"""A migration plan: which element of the target version each element of the source becomes.

Like Camunda Cockpit's plans, a plan is a list of ``source element -> target element``.
Elements with the same id in both versions map to themselves; for the others a target is
proposed by name (same label, same kind, not taken by an id match), and the admin may
edit any row. A plan is checked before a dry run (``check_plan``) and applied by
``engine.migration_apply`` to every task of a running instance, inside event subprocesses,
subprocesses and call activities too.

Blocked moves are returned as data (``Blocker``: a code, the element, the version) so the
web layer can say them in the reader's language; ``str()`` gives English for the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

# Blocker codes, each with the English sentence the CLI prints ({name} is the element's label).
BLOCKER_TEXT = {
    "open_missing": "the {kind} '{name}' is open and does not exist in v{version}",
    "moved_into_call": (
        "the {kind} '{name}' ({element_id}) moved into the call activity {detail} in v{version}"
    ),
    "moved_into_subprocess": (
        "the {kind} '{name}' ({element_id}) moved into the subprocess {detail} in v{version}"
    ),
    "done_missing": "the {kind} '{name}' was already done and does not exist in v{version}; map it",
    "process_missing": "the process '{name}' does not exist in v{version}",
    "automatic": "the {kind} '{name}' would become an automatic step in v{version}",
    "failed": "the {kind} '{name}' cannot be moved to v{version}: {detail}",
}
KIND_TEXT = {
    "task": "task",
    "timer": "timer",
    "subprocess": "subprocess",
    "event": "event",
    "gateway": "gateway",
    "element": "element",
}


@dataclass(frozen=True)
class Blocker:
    """Why one element keeps an instance from moving, as data: see ``BLOCKER_TEXT``."""

    code: str
    element_id: str
    element_name: str
    element_kind: str
    version: int
    process_id: str = ""
    state: str = ""
    detail: str = ""

    def __str__(self) -> str:
        return BLOCKER_TEXT[self.code].format(
            element_id=self.element_id,
            kind=KIND_TEXT.get(self.element_kind, "element"),
            name=self.element_name,
            version=self.version,
            detail=self.detail,
        )


@dataclass(frozen=True)
class Element:
    element_id: str
    name: str
    kind: str
    process_id: str


@dataclass(frozen=True)
class PlanRow:
    """One source element and where it goes: ``how`` is id | name | manual | None (nowhere)."""

    source: Element
    target_id: str | None
    how: str | None


@dataclass(frozen=True)
class PlanProblem:
    """A plan row that cannot be used; ``field`` names the row (``map.<source id>``)."""

    field: str
    code: str  # unknown_source | unknown_target | kind_mismatch | target_taken
    source_id: str
    target_id: str


def element_kind(spec: Any) -> str:
    """The kind of a task spec in words a reader knows (codes; the web translates them)."""
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return "timer"
    if getattr(spec, "manual", False):
        return "task"
    type_name = type(spec).__name__
    if type_name in ("SubWorkflowTask", "CallActivity", "TransactionSubprocess"):
        return "subprocess"
    if definition is not None or type_name.endswith("Event"):
        return "event"
    if type_name.endswith("Gateway"):
        return "gateway"
    return "element" if not type_name.endswith("Task") else "task"


def elements(specs: Mapping[str, Any]) -> dict[str, Element]:
    """Every diagram element (one with a BPMN id) of a version's processes, by id."""
    found: dict[str, Element] = {}
    for process_id, process in specs.items():
        for spec in process.task_specs.values():
            if spec.bpmn_id:
                found[spec.bpmn_id] = Element(
                    spec.bpmn_id, spec.bpmn_name or "", element_kind(spec), process_id
                )
    for process_id, process in specs.items():
        # Subprocess processes are named by their element id and are elements themselves.
        found.setdefault(process_id, Element(process_id, process.description or "", "subprocess", process_id))
    return found


def propose_plan(source_specs: Mapping[str, Any], target_specs: Mapping[str, Any]) -> list[PlanRow]:
    """Every source element with its proposed target: by id first, then by unique same name and kind."""
    source, target = elements(source_specs), elements(target_specs)
    taken = {element_id for element_id in source if element_id in target}
    by_name: dict[tuple[str, str], list[str]] = {}
    for element in target.values():
        if element.element_id not in taken and element.name:
            by_name.setdefault((element.name, element.kind), []).append(element.element_id)
    rows = []
    for element in sorted(source.values(), key=lambda e: (e.process_id, e.element_id)):
        if element.element_id in target:
            rows.append(PlanRow(element, element.element_id, "id"))
            continue
        candidates = by_name.get((element.name, element.kind), []) if element.name else []
        if len(candidates) == 1:
            rows.append(PlanRow(element, candidates[0], "name"))
        else:
            rows.append(PlanRow(element, None, None))
    return rows


def proposed_mapping(rows: Iterable[PlanRow]) -> dict[str, str]:
    """The rows that map an element to another id: what a plan needs beyond ids that match."""
    return {row.source.element_id: row.target_id for row in rows if row.target_id and row.how == "name"}


def check_plan(
    source_specs: Mapping[str, Any], target_specs: Mapping[str, Any], mapping: Mapping[str, str]
) -> list[PlanProblem]:
    """What is wrong with a plan: unknown ids, a task mapped onto a timer, two elements onto one."""
    source, target = elements(source_specs), elements(target_specs)
    problems: list[PlanProblem] = []
    used: dict[str, str] = {}
    for source_id, target_id in sorted(mapping.items()):
        row = f"map.{source_id}"
        if source_id not in source:
            problems.append(PlanProblem(row, "unknown_source", source_id, target_id))
        elif target_id not in target:
            problems.append(PlanProblem(row, "unknown_target", source_id, target_id))
        elif source[source_id].kind != target[target_id].kind:
            problems.append(PlanProblem(row, "kind_mismatch", source_id, target_id))
        elif target_id in used or (
            target_id in source and target_id not in mapping and target_id != source_id
        ):
            problems.append(PlanProblem(row, "target_taken", source_id, target_id))
        used[target_id] = source_id
    return problems


def mapped_name(name: str, mapping: Mapping[str, str]) -> str:
    """A task spec's name in the target: mapped ids carry their helpers (``x.BoundaryEventSplit``)."""
    if name in mapping:
        return mapping[name]
    prefix, dot, suffix = name.partition(".")
    if dot and prefix in mapping:
        return f"{mapping[prefix]}.{suffix}"
    return name


def blocker_for_failure(process_id: str, version: int, error: Exception) -> Blocker:
    """A failure while planning (the library, a pre-script): blocks, naming the process."""
    return Blocker("failed", process_id, process_id, "subprocess", version, process_id, detail=str(error))
