"""Refusals a command makes before it changes anything: the instance ended, the task is
someone else's, the data uses a name the engine reserves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models import HumanTask, Instance

RESERVED_DATA_KEYS = frozenset({"typename"})  # SpiffWorkflow cannot reload such data


def ensure_running(instance: Instance) -> None:
    if instance.status != "running":
        raise Conflict(f"instance {instance.id} is {instance.status}")


def check_group(row: HumanTask, groups: frozenset[str] | None) -> None:
    if groups is not None and row.candidate_group not in groups:
        raise Forbidden(f"task {row.element_id} belongs to group {row.candidate_group!r}")


def check_may_act(row: HumanTask, actor: str, groups: frozenset[str] | None) -> None:
    if groups is None:
        return
    check_group(row, groups)
    if row.assignee is not None and row.assignee != actor:
        raise Forbidden(f"task {row.element_id} is claimed by {row.assignee}")


def refuse_reserved_keys(data: Mapping[str, Any], function_names: Iterable[str]) -> None:
    taken = set(function_names)
    errors = {
        key: "this field name is reserved by the engine; rename the field"
        for key in data
        if key in RESERVED_DATA_KEYS or key in taken or not str(key).isidentifier()
    }
    if errors:
        raise InvalidInput(errors)
