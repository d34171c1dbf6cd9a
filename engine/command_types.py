"""What the engine's commands take and answer: results, the command in progress, the record
hook's view, a start form's first task (see ``engine.service``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from engine.deployments import Runtime
from engine.errors import EngineError
from engine.spiff import (
    current_data,
)
from engine.store import InstanceRow, Store

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class DeployOutcome:
    version: int
    content_hash: str
    created: bool


@dataclass(frozen=True)
class CommandResult:
    instance_id: int
    status: str
    version: int
    opened_task_ids: tuple[str, ...]


@dataclass(frozen=True)
class Command:
    """What a command's ``apply`` works on, inside the command's transaction."""

    store: Store
    instance: InstanceRow
    workflow: Any
    runtime: Runtime
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """What a command's ``record`` hook sees: the result, before the command's transaction commits.

    The hook writes on ``connection`` (e.g. an idempotency key with the answer), so its
    rows and the command's are committed together or not at all.
    """

    connection: Connection
    result: CommandResult
    workflow: Any

    def data(self) -> dict[str, Any]:
        """The instance's data as the command left it."""
        return current_data(self.workflow)


Record = Callable[[Outcome], None]


@dataclass(frozen=True)
class FirstTask:
    """A human task ``start`` completes at once, in the start's transaction (a start form)."""

    element_id: str
    data: Mapping[str, Any]
    actor_groups: Iterable[str] | None = None


class AlreadyHeld(EngineError):
    """The claimant holds the task already: nothing to write (rolled back, answered as done)."""

    def __init__(self, instance: InstanceRow) -> None:
        super().__init__(f"instance {instance.id}: already held")
        self.instance = instance


UNCHANGED: Any = object()  # a claim leaves the instance's next timer as it was


@dataclass(frozen=True)
class Saved:
    instance: InstanceRow
    next_timer_at: datetime | None
    changes: dict[str, Any]


def result_of(saved: Saved) -> CommandResult:
    return CommandResult(
        instance_id=saved.instance.id,
        status=saved.instance.status,
        version=saved.instance.version,
        opened_task_ids=tuple(saved.changes.get("opened_ids", ())),
    )
