"""Logging in and out (Flask-Login), and who the current user is.

The session cookie holds the user's id and session generation ("<id>:<generation>");
every request reloads the account, so a deactivated user or a changed group takes
effect at the next click, and a cookie issued before the generation was raised
(logout, password change, deactivation) is refused even if someone kept a copy. The
request's user is a plain snapshot (:class:`SessionUser`), never a live ORM
object, so templates cannot trigger lazy loads after the session has closed.

Every page needs a login except ``/login`` and ``/health``: ``require_login`` runs
before each request and lets through only endpoints marked with :func:`public`,
so a new blueprint is protected without anyone remembering a decorator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta, gettext
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from web import login_limits, security_audit
from web.accounts import User, authenticate, get_user
from web.engine_access import current_engine

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

_PUBLIC_ENDPOINTS: set[str] = {"static"}


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as reachable without logging in (registered by endpoint name)."""
    view._public = True  # type: ignore[attr-defined]
    return view


@dataclass(frozen=True)
class SessionUser:
    """The logged-in user as the request sees it."""

    id: int
    username: str
    display_name: str
    groups: frozenset[str]
    roles: frozenset[str]
    session_generation: int = 0

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @classmethod
    def of(cls, user) -> SessionUser:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            groups=frozenset(user.groups),
            roles=frozenset(user.roles),
            session_generation=user.session_generation,
        )


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class LogoutForm(FlaskForm):
    """No fields: it exists for its CSRF token."""


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    app.before_request(require_login)
    app.context_processor(lambda: {"logout_form": LogoutForm()})


@login_manager.user_loader
def load_user(session_id: str) -> SessionUser | None:
    """The user of a session "<id>:<generation>", unless the account has since moved on."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit() and len(user_id) < 19 and len(generation) < 19):
        return None
    with current_engine().reader() as db:
        user = get_user(db, int(user_id))
        if user is None or not user.active or user.session_generation != int(generation):
            return None
        return SessionUser.of(user)


def require_login():
    """Runs before every request: anonymous users go to the login page, except for public views."""
    if request.endpoint is None:  # 404 and 405: let Flask answer
        return None
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint in _PUBLIC_ENDPOINTS or getattr(view, "_public", False):
        return None
    if current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        engine = current_engine()
        # The real client behind TRUSTED_PROXIES (ProxyFix in the app factory).
        now, address = engine.clock.now(), (request.remote_addr or "unknown")[:64]
        name = form.username.data
        try:
            with engine.writer() as db, db.begin():
                wait = login_limits.wait_before_attempt(db, name, address, now)
                if wait:
                    return _too_soon(form, wait)
                user = authenticate(db, name, form.password.data)
                found = SessionUser.of(user) if user is not None else None
                if found is None:
                    login_limits.record_failure(db, name, address, now)
                    actor, command = login_limits.login_key(name), "login_failed"
                else:
                    login_limits.clear_failures(db, name)
                    actor, command = found.username, "login"
                security_audit.record(db, at=now, actor=actor, command=command, detail={"address": address})
        except SQLAlchemyError:
            current_app.logger.exception("login: the database failed")
            flash("The database is not reachable; try again in a moment.", "error")
            return render_template("login.html", form=form), 503
        if found is not None:
            next_url = safe_next(request.args.get("next"))
            language = session.get("language")
            session.clear()  # a fresh session (and CSRF token) for the new identity
            if language:
                session["language"] = language  # the language picked on the login page stays
            login_user(found)
            return redirect(next_url)
        flash(gettext("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


def _too_soon(form: LoginForm, wait: timedelta):
    """429 with the wait in words; the password was not looked at."""
    seconds = math.ceil(wait.total_seconds())
    words = format_timedelta(timedelta(seconds=seconds), threshold=1)
    flash(gettext("Too many failed logins: try again in %(wait)s.", wait=words), "error")
    response = make_response(render_template("login.html", form=form), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    # CSRFProtect has already refused a POST without a valid token.
    _end_sessions_of(current_user.id)
    logout_user()
    session.clear()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _end_sessions_of(user_id: int) -> None:
    """Raise the user's session generation: every cookie issued before stops working."""
    with current_engine().writer() as db, db.begin():
        db.execute(
            update(User).where(User.id == user_id).values(session_generation=User.session_generation + 1)
        )


def safe_next(target: str | None, default: str | None = None) -> str:
    """``target`` if it is a path on this site, else ``default`` (the overview): no open redirects."""
    default = default or url_for("overview.index")
    # Browsers drop tabs and newlines and read "\\" as "/": "/\t/x" and "/\\x" lead off site.
    if not target or any(ch.isspace() or ch == "\\" or ord(ch) < 32 for ch in target):
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
