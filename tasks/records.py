"""The complaint domain's own tables, written in each command's transaction.

Deadline breaches (L7) are recorded here when a deadline timer fires: the timer's
branch of the process ends at once, so its data never reaches the main path, but a
row written through the command's connection commits with the firing itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Integer, String, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import UTCDateTime

MIGRATIONS = Path(__file__).with_name("migrations") / "versions"


class DeadlineBreach(Base):
    """L7: a deadline that passed, per complaint instance and clock (rule id)."""

    __tablename__ = "deadline_breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    clock: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late_by_s: Mapped[float] = mapped_column(Float)


def record_breach(connection: Any, *, instance_id: int, clock: str, due_at: datetime, at: datetime) -> None:
    connection.execute(
        insert(DeadlineBreach).values(
            instance_id=instance_id,
            clock=clock,
            due_at=due_at,
            breached_at=at,
            late_by_s=(at - due_at).total_seconds(),
        )
    )


def breaches_of(connection: Any, instance_id: int) -> list[DeadlineBreach]:
    rows = connection.execute(
        select(DeadlineBreach).where(DeadlineBreach.instance_id == instance_id).order_by(DeadlineBreach.id)
    )
    return list(rows)
