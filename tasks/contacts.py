"""Who each complaint is from and where it went, for finding it before and after numbering.

The complaint record (``tasks.records``) exists once a complaint is numbered. Two
searches need more, without loading a workflow:

* the inbox finds a website complaint still waiting for its A5 verification call by
  the phone the customer gave, and fills its row (customer, phone, channel) although
  it has no number or record yet;
* the search across all complaints filters by the handling department chosen at
  dispatch (``department``), which the record does not keep;
* the intake lookup (T2/T3) shows an excerpt of each complaint's description
  (``description_excerpt``) for every row it lists, on every keystroke: lists never
  load workflows (docs/engine.md), so the excerpt is kept here.

``complaint_contacts`` holds one row per instance whose data names a customer (phone,
name or account), kept by :func:`project_contact` after every command in its
transaction, as the complaint record is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.driver_sql import DriverSql
from engine.models import Instance, UTCDateTime
from tasks import records

EXCERPT = 120  # characters of the description the intake lookup shows


class ComplaintContact(Base):
    """The customer and the department of one instance (see the module docstring)."""

    __tablename__ = "complaint_contacts"

    instance_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    customer_name: Mapped[str | None] = mapped_column(String(100))
    customer_phone: Mapped[str | None] = mapped_column(String(40), index=True)
    customer_account: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(60), index=True)
    description_excerpt: Mapped[str | None] = mapped_column(String(EXCERPT))
    numbered: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def project_contact(projection: Any) -> None:
    """Keep the instance's contact row in step with its data (registered by tasks.registry.build_registry)."""
    data = projection.data
    phone = data.get("customer_phone")
    phone = records.normalise_phone(phone) if isinstance(phone, str) and phone.strip() else None
    values = {
        "customer_name": (data.get("customer_name") or None),
        "customer_phone": phone,
        "customer_account": (str(data.get("customer_account") or "").strip() or None),
        "channel": data.get("channel") or None,
        "department": data.get("department") or None,
        "description_excerpt": excerpt(data.get("description")),
        "numbered": bool(data.get("complaint_no")),
        "updated_at": projection.now,
    }
    if not (values["customer_name"] or values["customer_phone"] or values["customer_account"]):
        return
    sql = DriverSql(projection.connection)  # every command: plain SQL (engine.driver_sql)
    values["updated_at"] = sql.instant(projection.now)
    if not sql.run(_UPDATE, instance_id=projection.instance_id, **values).rowcount:
        sql.run(_INSERT, instance_id=projection.instance_id, **values)


_WRITTEN = (
    "customer_name",
    "customer_phone",
    "customer_account",
    "channel",
    "department",
    "description_excerpt",
    "numbered",
    "updated_at",
)
_UPDATE = "UPDATE complaint_contacts SET {} WHERE instance_id = :instance_id".format(
    ", ".join(f"{name} = :{name}" for name in _WRITTEN)
)
_INSERT = (
    f"INSERT INTO complaint_contacts (instance_id, {', '.join(_WRITTEN)}) "
    f"VALUES (:instance_id, {', '.join(':' + name for name in _WRITTEN)})"
)


def excerpt(text: Any) -> str | None:
    """The description on one line, cut to ``EXCERPT`` characters with an ellipsis."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def instances_by_phone(phone: str):
    """A SELECT of the instance ids whose customer gave this phone, numbered or not."""
    return select(ComplaintContact.instance_id).where(
        ComplaintContact.customer_phone == records.normalise_phone(phone)
    )


def contacts_of(session: Session, instance_ids: list[int]) -> dict[int, ComplaintContact]:
    if not instance_ids:
        return {}
    rows = session.scalars(select(ComplaintContact).where(ComplaintContact.instance_id.in_(instance_ids)))
    return {row.instance_id: row for row in rows}


def instances_matching(*, phone: str | None = None, complaint_type: str | None = None):
    """As ``records.instances_matching``, but a phone also finds complaints not numbered yet
    (a website complaint waiting for its A5 verification call)."""
    query = select(Instance.id)
    if phone:
        query = query.where(
            or_(
                Instance.id.in_(records.instances_matching(phone=phone)),
                Instance.id.in_(instances_by_phone(phone)),
            )
        )
    if complaint_type:
        query = query.where(Instance.id.in_(records.instances_matching(complaint_type=complaint_type)))
    return query
