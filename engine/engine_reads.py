"""The engine's reads (tasks, instances, the default version), as a part of
``engine.service.ProcessEngine``; they never write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import undefer

from engine.errors import NotFound
from engine.models import HumanTask, Instance
from engine.spiff import (
    current_data,
)
from engine.store import DeploymentRow, Store


class EngineReads:
    """The read side of ``ProcessEngine``."""

    @property
    def database(self) -> Engine:
        """The database the sessions use: for schema upgrades and closing connections before a fork."""
        return self._db

    def default_deployment(self) -> DeploymentRow | None:
        """The version ``start`` uses when given none (see ``Store.deployment``); None: nothing deployed."""
        with self.reader() as session:
            return Store(session.connection()).deployment(None)

    # ------------------------------------------------------------------ reads

    def task(self, task_id: str) -> HumanTask:
        with self.reader() as session:
            row = session.get(HumanTask, task_id)
            if row is None:
                raise NotFound(f"no task {task_id}")
            return row

    def open_tasks(self, instance_id: int) -> list[HumanTask]:
        with self.reader() as session:
            return list(
                session.scalars(
                    select(HumanTask)
                    .where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
                    .order_by(HumanTask.created_at)
                )
            )

    def instance(self, instance_id: int) -> Instance:
        with self.reader() as session:
            instance = session.get(Instance, instance_id, options=[undefer(Instance.state)])
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            return instance

    def instance_data(self, instance_id: int) -> dict[str, Any]:
        """The instance's current data (see ``engine.handlers.Projection``)."""
        with self.reader() as session:
            instance = session.get(Instance, instance_id)
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            workflow = self.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
        return current_data(workflow)
