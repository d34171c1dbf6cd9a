"""API tokens: how call-centre systems authenticate as a user of this product.

A token is shown once, when issued; only its SHA-256 is stored, so a copy of the
database does not give API access. A token acts with its user's groups and roles.

Tokens expire (``DEFAULT_LIFETIME`` unless the issuer chooses otherwise or, explicitly,
never) and can be revoked; either ends them for good. :func:`check_token` says why a
token is refused, so the API can tell its caller. ``last_used_at`` is kept to the
minute (:func:`record_use`), so that a busy caller does not cost a write per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ForeignKey, String, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.models import UTCDateTime
from web.accounts import AccountError, User, find_user, normalize_username

PREFIX = "cpt_"
DEFAULT_LIFETIME = timedelta(days=90)
MAX_LABEL = 200
USE_RECORDED_EVERY = timedelta(minutes=1)


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

    def state(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class IssuedToken:
    """The secret (shown once, never stored) and the stored row it belongs to."""

    secret: str
    row: ApiToken


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of presenting a token: its user, or why it was refused."""

    user: User | None
    token: ApiToken | None
    refusal: str | None  # unknown, revoked, expired, inactive

    def use_to_record(self, now: datetime) -> bool:
        """Whether ``last_used_at`` is stale enough to be written again."""
        if self.user is None or self.token is None:
            return False
        last = self.token.last_used_at
        return last is None or now - last >= USE_RECORDED_EVERY


def issue(
    session: Session,
    username: str,
    label: str,
    *,
    now: datetime,
    lifetime: timedelta | None = DEFAULT_LIFETIME,
) -> IssuedToken:
    """A new token for ``username`` expiring after ``lifetime`` (``None``: never)."""
    user = find_user(session, normalize_username(username))
    if user is None:
        raise AccountError("username", "no user %(username)r", username=username.strip().lower())
    label = (label or "").strip()
    if not label:
        raise AccountError("label", "must not be empty")
    if len(label) > MAX_LABEL:
        raise AccountError("label", "must be at most %(maximum)s characters", maximum=MAX_LABEL)
    if lifetime is not None and lifetime <= timedelta(0):
        raise AccountError("expires", "the lifetime must be positive")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=_digest(secret),
        label=label,
        created_at=now,
        expires_at=None if lifetime is None else now + lifetime,
    )
    session.add(row)
    session.flush()
    return IssuedToken(secret, row)


def issue_token(
    session: Session,
    username: str,
    label: str,
    *,
    now: datetime | None = None,
    lifetime: timedelta | None = DEFAULT_LIFETIME,
) -> str:
    """Only the secret of a new token (see :func:`issue`)."""
    return issue(session, username, label, now=now or datetime.now(UTC), lifetime=lifetime).secret


def check_token(session: Session, token: str, *, now: datetime) -> TokenCheck:
    """The token's active user, or the reason it is refused."""
    row = (
        session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
        if token.startswith(PREFIX)
        else None
    )
    if row is None:
        return TokenCheck(None, None, "unknown")
    state = row.state(now)
    if state != "active":
        return TokenCheck(None, row, state)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return TokenCheck(None, row, "inactive")
    return TokenCheck(user, row, None)


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    return check_token(session, token, now=now or datetime.now(UTC)).user


def record_use(session: Session, token_id: int, *, now: datetime) -> None:
    """Set ``last_used_at`` unless another request did within the last minute (one UPDATE)."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - USE_RECORDED_EVERY),
        )
        .values(last_used_at=now)
    )


def tokens_of(session: Session, username: str) -> list[ApiToken]:
    """Every token of the user, newest first, revoked and expired ones included."""
    user = find_user(session, normalize_username(username))
    if user is None:
        raise AccountError("username", "no user %(username)r", username=username.strip().lower())
    listed = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(session.scalars(listed))


def find_token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def revoke(session: Session, token_id: int, *, now: datetime) -> ApiToken:
    """End a token for good; revoking it again keeps the first instant."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise AccountError("token", "no token %(token_id)s", token_id=token_id)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return row


def owner_of(session: Session, row: ApiToken) -> str:
    return session.get(User, row.user_id).username


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
