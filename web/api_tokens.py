"""API tokens: how call-centre systems authenticate as a user of this product.

A token is shown once, when issued; only its SHA-256 is stored, so a copy of the
database does not give API access. A token acts with its user's groups and roles.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.models import UTCDateTime
from web.accounts import User, find_user

PREFIX = "cpt_"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def issue_token(session: Session, username: str, label: str, *, now: datetime | None = None) -> str:
    user = find_user(session, username)
    if user is None:
        raise ValueError(f"username: no user {username!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, token_hash=_digest(token), label=label, created_at=now or datetime.now(UTC))
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(PREFIX):
        return None
    user = session.scalar(
        select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == _digest(token))
    )
    return user if user is not None and user.active else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
