"""Slowing password guessing without letting a stranger lock anyone out.

A hard lock after N failures lets anyone who knows a username shut its owner out, so
failures buy growing delays instead: once a name has ``FREE_PER_NAME`` failures, every
further attempt for it must wait ``2 ** (n - FREE_PER_NAME)`` seconds (capped at
``MAX_DELAY``) after the last failure; an address gets the same treatment after
``FREE_PER_ADDRESS``. An attempt inside the wait is refused without looking at the
password and is not counted, so the real user waits at most the current delay.

Names are counted the way login reads them (``normalize_username``: stripped, lower
case), so ``" billing"`` and ``"BILLING\\t"`` are one name. Failures are rows in the
database, so every app node counts the same attempts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.models import UTCDateTime
from web.accounts import AccountError, normalize_username

FREE_PER_NAME = 3
FREE_PER_ADDRESS = 20
MAX_DELAY = timedelta(minutes=15)
NAME_MEMORY = timedelta(hours=24)  # a name's failures count this long, unless it logs in
ADDRESS_MEMORY = timedelta(hours=1)  # shorter: many people may share one address


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def login_key(username: str) -> str:
    """The name failures are counted under: as login reads it, or stripped and lowered if invalid."""
    try:
        return normalize_username(username)
    except AccountError:
        return (username or "").strip().lower()[:80]


def wait_before_attempt(session: Session, username: str, address: str, now: datetime) -> timedelta:
    """How long this name and address must still wait before a password is checked (0: go ahead)."""
    by_name = _wait(session, LoginFailure.username == login_key(username), NAME_MEMORY, FREE_PER_NAME, now)
    by_address = _wait(session, LoginFailure.address == address[:64], ADDRESS_MEMORY, FREE_PER_ADDRESS, now)
    return max(by_name, by_address)


def delay_after(failures: int, free: int) -> timedelta:
    """The wait after ``failures`` failures when the first ``free`` cost nothing."""
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 20)), MAX_DELAY)


def record_failure(session: Session, username: str, address: str, now: datetime) -> None:
    session.add(LoginFailure(username=login_key(username), address=address[:64], at=now))
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - max(NAME_MEMORY, ADDRESS_MEMORY)))


def clear_failures(session: Session, username: str) -> None:
    """A successful login: the name starts afresh (its address keeps its count)."""
    session.execute(delete(LoginFailure).where(LoginFailure.username == login_key(username)))


def _wait(session: Session, which, memory: timedelta, free: int, now: datetime) -> timedelta:
    failures, last = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(which, LoginFailure.at > now - memory)
    ).one()
    if last is None:
        return timedelta(0)
    return max(timedelta(0), last + delay_after(failures, free) - now)
