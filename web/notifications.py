"""In-app notifications of clocks about to breach (L7 warnings), and their e-mail copies.

The sweep (:func:`sweep`, a plain function of ``now``) asks ``tasks.warning_sweep`` which clocks
have reached their warning instant and, for each, records a ``breach_warnings`` row whose
key ``(instance, clock, due)`` is unique: when two nodes sweep at once, one insert wins
and the other does nothing, so each warning goes out once. An E3 extension moves the due
instant, which is a new key and so a new warning. The same transaction writes one
``notifications`` row per recipient: the task's assignee (unclaimed: every member of its
candidate group; L1: whoever recorded the complaint) and every supervisor.

E-mail copies, only when SMTP is configured (``web.mail``) and the person has an address
(``complaints users email NAME ADDRESS``), are written as engine outbox rows (kind
``warning_email``, ``engine.outbox``) in the warning's own transaction and sent after its
commit, so a crash in between loses none. A failing SMTP server is written on the
notification (``email_status``) and logged; the in-app notification stays, the sweep
carries on, and the copy is retried with backoff until the server takes it.

``web.warning_job`` runs the sweep in ``complaints serve`` (a job of the node's scheduler).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from flask_login import current_user
from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine import outbox
from engine.db import Base
from engine.models import UTCDateTime
from tasks import warning_sweep
from web import access, accounts, mail
from web.auth import safe_next
from web.clock_names import clock_name
from web.engine_access import current_engine, engine_of

log = logging.getLogger(__name__)

WARNING_EMAIL = "warning_email"  # the outbox kind of an e-mail copy
SUPERVISOR_ROLE = "supervisor"
PAGE_SIZE = 50

bp = Blueprint("notifications", __name__)


class BreachWarning(Base):
    """One warning per clock and due instant: the unique key makes a sweep idempotent."""

    __tablename__ = "breach_warnings"
    __table_args__ = (UniqueConstraint("instance_id", "clock", "due_at", name="uq_breach_warnings_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    clock: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[str | None] = mapped_column(String(36))


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("breach_warnings.id"))
    instance_id: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(200))
    clock: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    task_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_status: Mapped[str | None] = mapped_column(String(300))


class NotificationAddress(Base):
    """Where a person's e-mail copies go (accounts know no addresses of their own)."""

    __tablename__ = "notification_addresses"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))


# ----------------------------------------------------------------------------- the sweep


def sweep(engine: Any, now: datetime, *, smtp: mail.SmtpSettings | None = None) -> int:
    """Send every warning whose instant has come and that was not sent yet; returns how many."""
    sent = 0
    due = warning_sweep.about_to_breach(engine, now)
    already = _sent_keys(engine, {clock.instance_id for clock in due})
    if smtp is not None:  # the settings this node sends with, also for the copies retried later
        register_email(engine, smtp)
    for clock in due:
        if clock.key in already:  # the common case: read, not another write transaction
            continue
        copies = _record(engine, clock, now, email=smtp is not None)
        if copies is None:
            continue
        sent += 1
        engine.outbox.after_commit(copies)
    return sent


def register_email(engine: Any, smtp: mail.SmtpSettings) -> None:
    """Send this engine's ``warning_email`` outbox rows through ``smtp``."""
    engine.outbox.register(WARNING_EMAIL, lambda item: _send_copy(engine, smtp, item))


def _sent_keys(engine: Any, instance_ids: set[int]) -> set[tuple[int, str, datetime]]:
    if not instance_ids:
        return set()
    with engine.reader() as session:
        rows = session.execute(
            select(BreachWarning.instance_id, BreachWarning.clock, BreachWarning.due_at).where(
                BreachWarning.instance_id.in_(instance_ids)
            )
        )
        return {(row.instance_id, row.clock, row.due_at) for row in rows}


def _record(
    engine: Any, clock: warning_sweep.RunningClock, now: datetime, *, email: bool
) -> list[int] | None:
    """Store the warning, its notifications and their e-mail copies (outbox rows) in one
    transaction; returns the outbox ids, None if the warning was sent before."""
    subject, body = compose_email(clock) if email else ("", "")
    with engine.writer() as session, session.begin():
        connection = session.connection()
        warning_id = connection.execute(
            _insert_ignoring_duplicates(connection)(BreachWarning)
            .values(
                instance_id=clock.instance_id,
                clock=clock.clock,
                due_at=clock.due_at,
                warn_at=clock.warn_at,
                warned_at=now,
                task_id=clock.task_id,
            )
            .on_conflict_do_nothing(index_elements=["instance_id", "clock", "due_at"])
            .returning(BreachWarning.id)
        ).scalar()
        if warning_id is None:
            return None
        created = []
        for username in recipients(session, clock):
            notification_id = connection.execute(
                insert(Notification)
                .values(
                    username=username,
                    warning_id=warning_id,
                    instance_id=clock.instance_id,
                    business_key=clock.business_key,
                    clock=clock.clock,
                    due_at=clock.due_at,
                    task_id=clock.task_id,
                    created_at=now,
                )
                .returning(Notification.id)
            ).scalar_one()
            created.append((notification_id, username))
        if not email:
            return []
        return [
            outbox.add(
                connection,
                WARNING_EMAIL,
                {"notification": notification_id, "to": address, "subject": subject, "body": body},
                now=now,
                instance_id=clock.instance_id,
            )
            for notification_id, address in _addresses(session, created).items()
        ]


def _insert_ignoring_duplicates(connection: Any):
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def recipients(session: Any, clock: warning_sweep.RunningClock) -> list[str]:
    """The owner (assignee, else the candidate group's members) and every supervisor."""
    if clock.assignee:
        owners = [clock.assignee]
    elif clock.candidate_group:
        owners = [user.username for user in accounts.users_in_group(session, clock.candidate_group)]
    else:
        owners = []
    supervisors = session.scalars(
        select(accounts.User.username)
        .join(accounts.UserRole)
        .where(accounts.UserRole.role == SUPERVISOR_ROLE, accounts.User.active.is_(True))
        .order_by(accounts.User.username)
    )
    return list(dict.fromkeys([*owners, *supervisors]))


def _addresses(session: Any, created: list[tuple[int, str]]) -> dict[int, str]:
    """The e-mail address of each new notification whose person has one."""
    addresses = dict(
        session.execute(
            select(NotificationAddress.username, NotificationAddress.email).where(
                NotificationAddress.username.in_([username for _, username in created])
            )
        ).all()
    )
    return {notification_id: addresses[name] for notification_id, name in created if addresses.get(name)}


def _send_copy(engine: Any, smtp: mail.SmtpSettings, item: outbox.OutboxItem) -> None:
    """Deliver one e-mail copy (an outbox row); a failure is written on the notification and retried."""
    address = item.payload["to"]
    try:
        mail.send(smtp, address, item.payload["subject"], item.payload["body"])
        status = f"sent to {address}"
    except mail.MailError as error:
        log.warning("warning e-mail to %s failed: %s", address, error)
        status = f"failed: {error}"[:300]
        _email_status(engine, item.payload["notification"], status)
        raise
    _email_status(engine, item.payload["notification"], status)


def _email_status(engine: Any, notification_id: int, status: str) -> None:
    with engine.writer() as session, session.begin():
        session.execute(
            update(Notification).where(Notification.id == notification_id).values(email_status=status)
        )


def compose_email(clock: warning_sweep.RunningClock) -> tuple[str, str]:
    """Subject and body in Chinese, then English (an e-mail has no browser preference)."""
    subjects, bodies = [], []
    for language in ("zh", "en"):
        with force_locale(language):
            values = {
                "clock": clock_name(clock.clock),
                "number": clock.business_key or f"#{clock.instance_id}",
                "due": clock.due_at.astimezone(UTC).isoformat(timespec="minutes"),
                "percent": round(clock.fraction * 100),
            }
            subjects.append(gettext("Deadline %(clock)s of %(number)s is about to pass", **values))
            bodies.append(
                gettext(
                    "%(percent)s %% of the time of deadline %(clock)s of complaint %(number)s has passed; "
                    "it is due at %(due)s.",
                    **values,
                )
            )
    return " / ".join(subjects), "\n\n".join(bodies) + "\n"


def set_address(session: Any, username: str, email: str | None) -> None:
    """Where ``username``'s e-mail copies go; None or empty stops them."""
    if accounts.find_user(session, username) is None:
        raise accounts.AccountError("username", f"no user named {username!r}")
    existing = session.get(NotificationAddress, username)
    if not email:
        if existing is not None:
            session.delete(existing)
        return
    if "@" not in email or any(ch.isspace() for ch in email) or len(email) > 254:
        raise accounts.AccountError("email", f"{email!r} is not an e-mail address")
    if existing is None:
        session.add(NotificationAddress(username=username, email=email))
    else:
        existing.email = email


# ----------------------------------------------------------------------------- pages


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_unread_count)
    smtp = mail.settings_from()
    if smtp is not None:  # copies left pending (a restart, a failed server) go out with these
        register_email(engine_of(app), smtp)


def _unread_count() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {}
    engine = current_engine()
    with engine.reader() as session:
        count = session.scalar(
            select(func.count(Notification.id)).where(
                Notification.username == current_user.username, Notification.read_at.is_(None)
            )
        )
    return {"unread_notifications": count or 0}


@bp.get("/notifications")
def notifications_page():
    engine = current_engine()
    with engine.reader() as session:
        rows = list(
            session.scalars(
                select(Notification)
                .where(Notification.username == current_user.username)
                .order_by(
                    Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc()
                )
                .limit(PAGE_SIZE)
            )
        )
        session.expunge_all()
    return render_template("notifications.html", rows=rows, now=engine.clock.now())


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int):
    engine = current_engine()
    with engine.writer() as session, session.begin():
        row = session.get(Notification, notification_id)
        if row is None:
            abort(404)
        if not access.may_mark_notification(current_user, row.username):
            abort(403)
        if row.read_at is None:
            row.read_at = engine.clock.now()
    return redirect(_next_or_list())


@bp.post("/notifications/read-all")
def mark_all_read():
    engine = current_engine()
    with engine.writer() as session, session.begin():
        session.execute(
            update(Notification)
            .where(Notification.username == current_user.username, Notification.read_at.is_(None))
            .values(read_at=engine.clock.now())
        )
    return redirect(url_for("notifications.notifications_page"))


def _next_or_list() -> str:
    return safe_next(request.form.get("next"), url_for("notifications.notifications_page"))
