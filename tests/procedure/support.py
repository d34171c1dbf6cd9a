"""Helpers for the procedure tests: the real bundle, valid form payloads, task lookups.

Scenario tests drive the real ``bpmn/`` bundle through the engine with the real handler
registry; only time is simulated (the ``clock`` fixture, Friday 2026-11-27 09:00 Shanghai).
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.bundle import load_bundle
from engine.handlers import TaskInput
from tasks import records
from tasks.clocks import ComplaintClock
from tests.procedure.scenario_data import (  # noqa: F401 - the payloads, re-exported
    customer_reply,
    dispatch,
    escalated_work_order_reply,
    progress_note,
    record,
    return_visit,
    review,
    work_order_reply,
)

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "bpmn"
SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG = tomllib.loads((BUNDLE / "procedure.toml").read_text(encoding="utf-8"))

# Candidate groups of the lanes, as procedure.toml maps them.
INTAKE, CS_CENTER, DEPARTMENT, SUPERVISOR = "intake", "cs_center", "dept:network", "supervisor"


def bundle():
    return load_bundle(BUNDLE)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant in November 2026, Shanghai time."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


def iso(day: int, hour: int, minute: int = 0, second: int = 0) -> str:
    return at(day, hour, minute, second).isoformat()


# ----------------------------------------------------------------------------- form payloads


def batch(tag: str) -> dict[str, Any]:
    """T4: a batch complaint's intake fields: type, tag, the departments told at once."""
    return {
        "complaint_types": ["batch"],
        "batch_tag": tag,
        "batch_departments_notified": ["network", "billing"],
    }


def major_plan(replier: str = "li.replier") -> dict[str, Any]:
    """T1, R2/R5: what the centre records when it dispatches a major complaint."""
    return {
        "reported_upward_to": "分管副总 Deputy general manager",
        "emergency_script": "已关注，正在全力处理 We are on it",
        "handling_plan": "网络部牵头，24小时内恢复 Network leads, restore within 24 h",
        "dedicated_replier": replier,
    }


def plan_approved(**changes: Any) -> dict[str, Any]:
    """T1: the supervisor approves a major complaint's plan and reports it on (level by level)."""
    data: dict[str, Any] = {
        "plan_approved": True,
        "reported_onward_to": "省公司客服部 Provincial customer service",
    }
    data.update(changes)
    return data


def analysis(judgement: str = "not_solved", **changes: Any) -> dict[str, Any]:
    """V1/H3: the centre calmed the dissatisfied customer and analysed the reason."""
    data: dict[str, Any] = {
        "customer_calmed": True,
        "analysis": "端口仍不稳定 The port still drops",
        "judgement": judgement,
    }
    data.update(changes)
    return data


def extension_request(until: str, **changes: Any) -> dict[str, Any]:
    """E3: the department asks for more time instead of replying."""
    data: dict[str, Any] = {
        "request_extension": True,
        "extension_progress": "已更换光猫，待线路改造 Modem replaced, line rework pending",
        "extension_reason": "需要市政审批 Needs the city's permit",
        "extension_until": until,
    }
    data.update(changes)
    return data


# ----------------------------------------------------------------------------- engine helpers


def open_task(engine, instance_id: int, element_id: str):
    """The one open task of ``element_id``; fails the test if there is none or several."""
    rows = [row for row in engine.open_tasks(instance_id) if row.element_id == element_id]
    open_now = [row.element_id for row in engine.open_tasks(instance_id)]
    assert len(rows) == 1, f"expected one open {element_id}, open tasks are {open_now}"
    return rows[0]


def open_elements(engine, instance_id: int) -> list[str]:
    return sorted(row.element_id for row in engine.open_tasks(instance_id))


def complete(engine, instance_id: int, element_id: str, data: dict[str, Any], actor: str | None = None):
    """Complete the open task as a member of its candidate group (the web layer's check), by
    the person it is assigned to (R5, T4) unless ``actor`` is given."""
    row = open_task(engine, instance_id, element_id)
    actor = actor or row.assignee or "someone"
    return engine.complete_task(row.id, actor=actor, data=data, actor_groups=[row.candidate_group])


def progress_told(engine, instance_id: int, actor: str = "engineer"):
    """L1: the department told the customer how far the handling has got (the web layer's message)."""
    return engine.send_message(
        instance_id, "progress_reply", actor=actor, payload=progress_note()
    )


def validator_input(submitted: dict[str, Any], task_data: dict[str, Any] | None = None) -> TaskInput:
    return TaskInput(
        element_id="test",
        submitted=submitted,
        task_data=task_data or {},
        now=at(27, 9),
        config=CONFIG,
        actor="tester",
    )


def complaint_row(engine, instance_id: int):
    """The complaint record of an instance (tasks.records), or None."""
    with engine.reader() as session:
        return records.complaint_of_instance(session.connection(), instance_id)


def breaches(engine, instance_id: int) -> list[dict[str, Any]]:
    """L7: the breaches recorded for a complaint, as the procedure keeps them (tasks.records)."""
    with engine.reader() as session:
        rows = records.breaches_of(session.connection(), instance_id)
    return [
        {"clock": row.clock, "due": row.due_at, "at": row.breached_at, "late_by_s": row.late_by_s}
        for row in rows
    ]


def deadlines(engine, instance_id: int) -> dict[str, Any]:
    """L7: the deadlines on the complaint record, clock -> {due, done_at, met, late_by_s, ...}:
    the latest round of each clock of the one read model (complaint_clocks), measured by the
    diagrams' timers (no script measures a deadline)."""
    row = complaint_row(engine, instance_id)
    return row.deadline_outcomes if row is not None else {}


def clock_rounds(engine, instance_id: int) -> dict[tuple[str, int], Any]:
    """L7: the read model's clock rows of an instance, by (clock, V1 round)."""
    with engine.reader() as session:
        rows = session.scalars(select(ComplaintClock).where(ComplaintClock.instance_id == instance_id)).all()
    return {(row.clock, row.round): row for row in rows}
