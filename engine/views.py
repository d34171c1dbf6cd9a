"""Read-only views of one instance for people: where it is on its diagram, what happened when.

The diagram view loads the workflow (one instance, on demand); the history reads
the audit log and the timer firings, which already say who did what and when.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.bundle import bundle_from_zip
from engine.diagram_index import DiagramIndex
from engine.errors import NotFound
from engine.instance_path import InstancePath, instance_path
from engine.models import AuditEvent, Deployment, Instance, TimerFiring
from engine.service import ProcessEngine
from engine.spiff import all_workflows

_CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class ElementStates:
    """Diagram element ids by what the instance did with them."""

    completed: frozenset[str]
    current: frozenset[str]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    command: str
    detail: dict[str, Any]


def element_states(engine: ProcessEngine, instance_id: int) -> ElementStates:
    instance = _instance(engine, instance_id)
    workflow = engine.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
    completed, current = set(), set()
    for wf in all_workflows(workflow):
        for task in wf.tasks.values():
            element = task.task_spec.bpmn_id
            if element is None:  # SpiffWorkflow's own helper tasks (splits, joins, root)
                continue
            if task.state == TaskState.COMPLETED:
                completed.add(element)
            elif task.state & _CURRENT:
                current.add(element)
    return ElementStates(frozenset(completed), frozenset(current))


def path_of(
    engine: ProcessEngine, instance_id: int, index: DiagramIndex, flagged_task_ids: Iterable[str] = ()
) -> InstancePath:
    """Where the instance is on each diagram of its version's ``index`` (see engine.instance_path)."""
    instance = _instance(engine, instance_id)
    workflow = engine.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
    return instance_path(workflow, index, flagged_task_ids)


def diagram_of(engine: ProcessEngine, instance_id: int) -> str:
    """The BPMN file (of the instance's own version) that holds the instance's process."""
    instance = _instance(engine, instance_id)
    with engine.reader() as session:
        deployment = session.get(Deployment, instance.deployment_id)
        bundle = bundle_from_zip(deployment.bundle_zip)
    for data in bundle.bpmn_files.values():
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
        ids = root.xpath(".//*[local-name()='process']/@id")
        if instance.process_id in ids:
            return data.decode()
    raise NotFound(f"no diagram holds process {instance.process_id!r}")


def history(engine: ProcessEngine, instance_id: int) -> list[HistoryEntry]:
    """Every command on the instance, oldest first, with what it changed."""
    with engine.reader() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id)
        ).all()
    return [HistoryEntry(event.at, event.actor, event.command, json.loads(event.detail)) for event in events]


def timer_firings(engine: ProcessEngine, instance_id: int) -> list[TimerFiring]:
    with engine.reader() as session:
        return list(
            session.scalars(
                select(TimerFiring).where(TimerFiring.instance_id == instance_id).order_by(TimerFiring.id)
            )
        )


def _instance(engine: ProcessEngine, instance_id: int) -> Instance:
    return engine.instance(instance_id)
