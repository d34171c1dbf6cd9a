"""User accounts: who may log in, which candidate groups they work for, which roles they hold.

Groups and roles are rows of their own (``user_groups``, ``user_roles``) rather than a
JSON list on the user: the inbox asks "who is in group X" (to offer a supervisor the
people a task can be assigned to) and "who is a supervisor", and a plain indexed
column answers that the same way on SQLite and PostgreSQL, with the database
refusing duplicates. A group is whatever a task's ``candidate_group`` says (a lane
name or its ``[lanes]`` mapping in the procedure config), so group names are free
text within a safe alphabet; roles are a fixed set that the code checks against.

Passwords are stored only as werkzeug hashes (scrypt by default) and must be at least
``MIN_PASSWORD`` characters and not easy to guess: zxcvbn (a well-kept estimator with
lists of the commonest passwords, names and words) must score them at least
``MIN_PASSWORD_SCORE``, with the username and display name counted as known words.
Every function takes the caller's session and never commits: the caller owns the
transaction. Bad input raises :class:`AccountError`, a ``ValueError`` whose ``field``
names the offending field, so the CLI and the web forms can point at it; its English
``message`` is a template that the web pages translate.

Changing a password or deactivating a user raises ``session_generation``, which ends
the sessions already open. At least one active administrator always remains: a role
change or deactivation that would leave none is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Boolean, ForeignKey, Integer, String, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from engine.db import Base
from engine.models import UTCDateTime

ROLES = ("agent", "supervisor", "process_owner", "admin")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# zxcvbn's 0..4 scale; 1 = "protection from throttled online attacks" (logins are
# throttled), which refuses the commonest passwords, keyboard runs, repeats and the
# username; a higher score would also refuse memorable passphrases of a few words.
MIN_PASSWORD_SCORE = 1
SCORED_LENGTH = 72  # zxcvbn's own bound: the first 72 characters are scored
MIN_DEMO_PASSWORD = 4
DEMO_PASSWORD = "demo"
ADMIN_ROLE = "admin"

# Names that appear as actors in the audit log without being a person: an account with
# one of them would make its entries indistinguishable from the system's.
# "system": engine.service.SYSTEM_ACTOR (timers); "website": web.public.SUBMITTED_VIA
# (the public form); "demo": tasks.demo's fallback actor; "cli": this product's command
# line (web.account_changes).
RESERVED_USERNAMES = frozenset({"system", "website", "demo", "cli"})

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_GROUP = re.compile(r"[\w][\w:.\-]{0,199}")


@cache
def _unknown_user_hash() -> str:
    """Checked when a username is unknown, so that a failed login takes as long whether
    or not the user exists (no probing for valid usernames by timing)."""
    return generate_password_hash("no such user: timing equaliser")


class AccountError(ValueError):
    """Bad account input; ``field`` names the offending field (username, password, role...).

    ``message`` is an English template with ``%(name)s`` placeholders filled from
    ``params``, so that the web pages can show it translated.
    """

    def __init__(self, field: str, message: str, **params: object) -> None:
        self.field, self.message, self.params = field, message, params
        super().__init__(f"{field}: {message % params if params else message}")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Raised at logout, password change and deactivation: a session cookie carries the
    # generation it was issued under and stops working once it is behind.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The demo accounts (password "demo"); `complaints serve` refuses them in production.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    group_rows: Mapped[list[UserGroup]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserGroup.name"
    )
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def groups(self) -> list[str]:
        return [row.name for row in self.group_rows]

    @property
    def roles(self) -> list[str]:
        return [row.role for row in self.role_rows]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def __repr__(self) -> str:
        return f"<User {self.username} roles={self.roles} groups={self.groups}>"


class UserGroup(Base):
    """Membership in a candidate group: the user is offered that group's tasks."""

    __tablename__ = "user_groups"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class UserRole(Base):
    """A role (one of ``ROLES``): what the user may do beyond working on their groups' tasks."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True, index=True)


# ---------------------------------------------------------------------- commands


def create_user(
    session: Session,
    username: str,
    password: str,
    display_name: str | None = None,
    groups: Iterable[str] = (),
    roles: Iterable[str] = (),
    *,
    demo: bool = False,
    now: datetime | None = None,
) -> User:
    """Add a user (flushed, not committed).

    ``demo=True`` accepts the short demo passwords and flags the account, so that
    production refuses to start while it is active with them.
    """
    username = normalize_username(username)
    if username in RESERVED_USERNAMES:
        raise AccountError(
            "username",
            "%(username)r is reserved for the system's own entries in the audit log",
            username=username,
        )
    if find_user(session, username) is not None:
        raise AccountError("username", "%(username)r is already taken", username=username)
    display_name = (display_name or "").strip() or username
    if len(display_name) > 200:
        raise AccountError("display_name", "must be at most 200 characters")
    if demo:
        _check_length(password, MIN_DEMO_PASSWORD)
    else:
        check_password(password, username=username, display_name=display_name)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=generate_password_hash(password),
        active=True,
        created_at=now or datetime.now(UTC),
        session_generation=0,
        is_demo=demo,
    )
    user.group_rows = [UserGroup(name=name) for name in _clean_groups(groups)]
    user.role_rows = [UserRole(role=role) for role in _clean_roles(roles)]
    session.add(user)
    session.flush()
    return user


def set_groups(session: Session, username: str, groups: Iterable[str]) -> User:
    """Replace the user's candidate groups with ``groups`` (which may be empty)."""
    user = _existing(session, username)
    wanted = _clean_groups(groups)
    kept = [row for row in user.group_rows if row.name in wanted]
    have = {row.name for row in kept}
    user.group_rows = kept + [UserGroup(name=name) for name in wanted if name not in have]
    session.flush()
    return user


def set_roles(session: Session, username: str, roles: Iterable[str]) -> User:
    """Replace the user's roles with ``roles`` (which may be empty); the last active admin keeps ``admin``."""
    user = _existing(session, username)
    wanted = _clean_roles(roles)
    if ADMIN_ROLE not in wanted:
        _keep_an_active_admin(session, user, "roles")
    kept = [row for row in user.role_rows if row.role in wanted]
    have = {row.role for row in kept}
    user.role_rows = kept + [UserRole(role=role) for role in wanted if role not in have]
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """A new password: open sessions end, and a demo account stops being one."""
    user = _existing(session, username)
    check_password(password, username=user.username, display_name=user.display_name)
    user.password_hash = generate_password_hash(password)
    user.is_demo = False
    user.session_generation += 1
    session.flush()
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    """Deactivated users keep their history but can no longer log in (open sessions end)."""
    user = _existing(session, username)
    if not active and user.active:
        _keep_an_active_admin(session, user, "active")
        user.session_generation += 1
    user.active = active
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (never says which was wrong)."""
    try:
        username = normalize_username(username)
    except AccountError:
        username = ""
    user = find_user(session, username) if username else None
    if user is None or not user.active:
        check_password_hash(_unknown_user_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user


# ---------------------------------------------------------------------- queries


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def active_admins(session: Session, *, lock: bool = False) -> list[str]:
    """Usernames of the active admins; ``lock`` holds their rows (PostgreSQL) so that two
    admins demoting each other at once cannot both succeed (SQLite writers queue anyway)."""
    found = (
        select(User.username)
        .join(UserRole)
        .where(UserRole.role == ADMIN_ROLE, User.active.is_(True))
        .order_by(User.username)
    )
    return list(session.scalars(found.with_for_update(of=User) if lock else found))


def active_demo_users(session: Session) -> list[str]:
    """Usernames of active accounts still flagged demo (their password is the published one)."""
    found = select(User.username).where(User.is_demo.is_(True), User.active.is_(True)).order_by(User.username)
    return list(session.scalars(found))


def users_in_group(session: Session, group: str) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(UserGroup)
            .where(UserGroup.name == group, User.active.is_(True))
            .order_by(User.username)
        )
    )


# ---------------------------------------------------------------------- demo accounts


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    groups: tuple[str, ...]
    roles: tuple[str, ...]


# One account per actor of the procedure. Their password is DEMO_PASSWORD: they exist
# to try the product on one machine and must never be created on a shared server.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("intake", "受理员 Intake clerk", ("intake",), ("agent",)),
    DemoUser("dispatcher", "客服中心派单员 Customer-service dispatcher", ("cs_center",), ("agent",)),
    DemoUser("network", "网络部 Network department", ("dept:network",), ("agent",)),
    DemoUser("billing", "计费部 Billing department", ("dept:billing",), ("agent",)),
    DemoUser("specialist", "投诉专员 Complaint specialist", ("specialist",), ("agent",)),
    DemoUser("legal", "法律顾问 Legal counsel", ("legal",), ("agent",)),
    DemoUser("supervisor", "主管领导 Supervisor", ("supervisor",), ("supervisor",)),
    DemoUser("escalation", "升级投诉专席 Escalation desk", ("escalation_desk",), ("agent",)),
    DemoUser("handler", "分公司投诉处理员 Branch complaint handler", ("complaint_handler",), ("agent",)),
    DemoUser("owner", "流程负责人 Process owner", (), ("process_owner",)),
    DemoUser("admin", "系统管理员 Administrator", (), ("admin",)),
)


def ensure_demo_users(session: Session, *, now: datetime | None = None) -> list[str]:
    """Create the demo accounts that do not exist yet; returns the usernames created.

    Existing accounts are left exactly as they are (a changed password or group stays
    changed), so running this twice changes nothing.
    """
    created = []
    for demo in DEMO_USERS:
        if find_user(session, demo.username) is None:
            create_user(
                session,
                demo.username,
                DEMO_PASSWORD,
                demo.display_name,
                demo.groups,
                demo.roles,
                demo=True,
                now=now,
            )
            created.append(demo.username)
    return created


# ---------------------------------------------------------------------- input checks


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    cleaned = (username or "").strip().lower()
    if not cleaned:
        raise AccountError("username", "must not be empty")
    if not _USERNAME.fullmatch(cleaned):
        raise AccountError(
            "username",
            "%(username)r must be 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit",
            username=cleaned,
        )
    return cleaned


def check_password(password: str, *, username: str = "", display_name: str = "") -> None:
    """Refuse a short password, or one easy to guess (common, a keyboard run, the username...)."""
    _check_length(password, MIN_PASSWORD)
    known_words = [word for word in (username, display_name, *display_name.split()) if word]
    if username and password.strip().lower() == username.lower():
        raise AccountError("password", "must not be the username")
    if zxcvbn(password[:SCORED_LENGTH], user_inputs=known_words)["score"] < MIN_PASSWORD_SCORE:
        raise AccountError(
            "password",
            "is too easy to guess (a common password, a keyboard or number run, or the username); "
            "choose a longer one, e.g. a few unrelated words",
        )


def _check_length(password: str, minimum: int) -> None:
    if not password or len(password) < minimum:
        raise AccountError("password", "must be at least %(minimum)s characters", minimum=minimum)
    if len(password) > MAX_PASSWORD:
        raise AccountError("password", "must be at most %(maximum)s characters", maximum=MAX_PASSWORD)


def _keep_an_active_admin(session: Session, user: User, field: str) -> None:
    """Refuse to take ``admin`` (or activity) away from the last active administrator."""
    if user.active and user.has_role(ADMIN_ROLE) and len(active_admins(session, lock=True)) <= 1:
        raise AccountError(field, "%(username)r is the last active administrator", username=user.username)


def _clean_groups(groups: Iterable[str]) -> list[str]:
    if isinstance(groups, str):
        raise AccountError("groups", "give a list of group names, not one string")
    cleaned: list[str] = []
    for group in groups:
        name = (group or "").strip()
        if not _GROUP.fullmatch(name):
            raise AccountError(
                "groups",
                "%(group)r is not a group name (letters, digits, '_', ':', '.', '-'; no spaces)",
                group=group,
            )
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def _clean_roles(roles: Iterable[str]) -> list[str]:
    if isinstance(roles, str):
        raise AccountError("roles", "give a list of roles, not one string")
    cleaned: list[str] = []
    for role in roles:
        name = (role or "").strip()
        if name not in ROLES:
            raise AccountError(
                "roles", "unknown role %(role)r (known: %(known)s)", role=role, known=", ".join(ROLES)
            )
        if name not in cleaned:
            cleaned.append(name)
    return cleaned


def _existing(session: Session, username: str) -> User:
    user = find_user(session, normalize_username(username))
    if user is None:
        raise AccountError("username", "no user %(username)r", username=username.strip().lower())
    return user
