"""Read-only views of one instance for people: where it is on its diagram, what happened when.

Where the instance is loads the workflow (one instance, on demand) and is drawn on the
version's cached diagram index (web/diagrams.py); the history reads
the audit log and the timer firings, which already say who did what and when.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.diagram_index import DiagramIndex
from engine.instance_path import InstancePath, instance_path
from engine.models import AuditEvent, Instance, TimerFiring
from engine.service import ProcessEngine


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    command: str
    detail: dict[str, Any]


def path_of(
    engine: ProcessEngine, instance_id: int, index: DiagramIndex, flagged_task_ids: Iterable[str] = ()
) -> InstancePath:
    """Where the instance is on each diagram of its version's ``index`` (see engine.instance_path)."""
    instance = _instance(engine, instance_id)
    workflow = engine.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
    return instance_path(workflow, index, flagged_task_ids)


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
