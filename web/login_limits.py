"""Slowing password guessing: after 5 failed logins for a name, or 20 from one address,
within 15 minutes, further attempts are refused until the window has passed.

Failures are rows in the database, so every app node counts the same attempts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.models import UTCDateTime

WINDOW = timedelta(minutes=15)
PER_USERNAME = 5
PER_ADDRESS = 20


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def is_blocked(session: Session, username: str, address: str, now: datetime) -> bool:
    since = now - WINDOW
    by_name = session.scalar(
        select(func.count()).where(LoginFailure.username == username.lower(), LoginFailure.at > since)
    )
    by_address = session.scalar(
        select(func.count()).where(LoginFailure.address == address, LoginFailure.at > since)
    )
    return by_name >= PER_USERNAME or by_address >= PER_ADDRESS


def record_failure(session: Session, username: str, address: str, now: datetime) -> None:
    session.add(LoginFailure(username=username.lower()[:80], address=address[:64], at=now))
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))


def clear_failures(session: Session, username: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.username == username.lower()))
