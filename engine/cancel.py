"""Ending a running instance without running it: for one started by mistake.

The instance's row becomes ``cancelled`` (it leaves the timer queue and takes no more
commands), its open human tasks are closed as ``cancelled`` (they leave every inbox),
and one audit event ``cancel`` records who, when and why, in one transaction. The
workflow state is kept as it was: the instance can still be read and shown.

Whether an instance may be cancelled is the caller's rule (``check``, run inside the
transaction on the locked row's open tasks): the engine only guarantees that nothing
changed the instance between that check and the cancellation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection

from engine import audit
from engine.errors import Conflict, NotFound
from engine.store import Store, TaskRow

CANCELLED = "cancelled"
COMMAND = "cancel"

Check = Callable[[Connection, Any, list[TaskRow]], None]  # raises (e.g. Conflict) to refuse


def cancel_instance(
    engine: Any, instance_id: int, *, actor: str, detail: Mapping[str, Any], check: Check
) -> None:
    """Cancel a running instance if ``check`` lets it; ``detail`` goes into the audit event."""
    now = engine.clock.now()
    with engine.writer.kw["bind"].connect() as connection, connection.begin():
        store = Store(connection)
        instance = store.instance(instance_id)
        if instance is None:
            raise NotFound(f"no instance {instance_id}")
        if instance.status != "running":
            raise Conflict(f"instance {instance_id} is {instance.status}")
        open_ids = [row["id"] for row in store.open_task_rows(instance_id)]
        open_tasks = [task for task_id in open_ids if (task := store.task(task_id)) is not None]
        check(connection, instance, open_tasks)
        changed = store.run(
            "UPDATE instances SET status = :status, next_timer_at = NULL, completed_at = :now, "
            "updated_at = :now, version = version + 1 "
            "WHERE id = :id AND version = :version AND status = 'running'",
            status=CANCELLED,
            now=store.instant(now),
            id=instance_id,
            version=instance.version,
        ).rowcount
        if changed != 1:
            raise Conflict(f"instance {instance_id} changed meanwhile; look again")
        store.close_tasks(open_ids, CANCELLED, now, actor)
        audit.append(
            store,
            at=now,
            actor=actor,
            command=COMMAND,
            instance_id=instance_id,
            detail={**detail, "closed_tasks": open_ids},
        )
