"""Security events in the audit log: logins, failed logins, tokens, account changes, uploads.

They go into the same tamper-evident chain as the engine's commands (no instance), in
the caller's transaction, so an account change and its audit record commit together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine import audit


def record(session: Session, *, at: datetime, actor: str, command: str, detail: Mapping[str, Any]) -> None:
    """Append ``command`` (e.g. ``login``, ``login_failed``, ``token_issued``) by ``actor``."""
    audit.record(session, at=at, actor=actor, command=command, detail=detail)
