"""What people keep beside a task before completing it: drafts and evidence files (H4).

A draft is the form as typed, per task and person, so a half-written reply survives
a closed browser; it is deleted when the task is completed. Evidence files (H4: keep
proof of the handling and of the customer's agreement) are stored in the database
with their SHA-256, so anyone can later check a file is the one that was uploaded;
each upload is an audit event in the same transaction as the file.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ForeignKey, Integer, LargeBinary, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.models import UTCDateTime
from web import security_audit

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


class TaskDraft(Base):
    __tablename__ = "task_drafts"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    values: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EvidenceFile(Base):
    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


def save_draft(session: Session, task_id: str, username: str, values: dict[str, Any], now: datetime) -> None:
    draft = session.get(TaskDraft, (task_id, username))
    if draft is None:
        draft = TaskDraft(task_id=task_id, username=username)
        session.add(draft)
    draft.values = json.dumps(values, ensure_ascii=False)
    draft.saved_at = now


def load_draft(session: Session, task_id: str, username: str) -> tuple[dict[str, Any], datetime] | None:
    draft = session.get(TaskDraft, (task_id, username))
    return (json.loads(draft.values), draft.saved_at) if draft is not None else None


def drop_drafts(session: Session | Connection, task_id: str) -> None:
    """A completed task's drafts go: called in the completing command's transaction (its
    ``record`` hook), so a draft never outlives the completion nor vanishes without it."""
    session.execute(delete(TaskDraft).where(TaskDraft.task_id == task_id))


def add_evidence(
    session: Session,
    *,
    instance_id: int,
    task_id: str,
    filename: str,
    content_type: str,
    content: bytes,
    username: str,
    now: datetime,
) -> EvidenceFile:
    if not content:
        raise ValueError("evidence: the file is empty")
    if len(content) > MAX_EVIDENCE_BYTES:
        raise ValueError(f"evidence: larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB")
    evidence = EvidenceFile(
        instance_id=instance_id,
        task_id=task_id,
        filename=filename[:255] or "evidence",
        content_type=(content_type or "application/octet-stream")[:100],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=username,
        uploaded_at=now,
    )
    session.add(evidence)
    session.flush()  # the file's id, for its audit event
    security_audit.record(
        session,
        at=now,
        actor=username,
        command="evidence_uploaded",
        detail={
            "evidence_id": evidence.id,
            "instance_id": instance_id,
            "task_id": task_id,
            "filename": evidence.filename,
            "sha256": evidence.sha256,
            "size": evidence.size,
        },
    )
    return evidence


def evidence_of(session: Session, instance_id: int) -> list[EvidenceFile]:
    return list(
        session.scalars(
            select(EvidenceFile).where(EvidenceFile.instance_id == instance_id).order_by(EvidenceFile.id)
        )
    )
