"""Logging in and out (Flask-Login), and who the current user is.

The session cookie holds only the user's id; every request reloads the account,
so a deactivated user or a changed group takes effect at the next click. The
request's user is a plain snapshot (:class:`SessionUser`), never a live ORM
object, so templates cannot trigger lazy loads after the session has closed.

Every page needs a login except ``/login`` and ``/health``: ``require_login`` runs
before each request and lets through only endpoints marked with :func:`public`,
so a new blueprint is protected without anyone remembering a decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from web import login_limits
from web.accounts import authenticate, get_user

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

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

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
def load_user(user_id: str) -> SessionUser | None:
    if not user_id.isdigit():
        return None
    with current_app.extensions["process_engine"].reader() as db:
        user = get_user(db, int(user_id))
        if user is None or not user.active:
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
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        engine = current_app.extensions["process_engine"]
        now, address = engine.clock.now(), request.remote_addr or "unknown"
        try:
            with engine.writer() as db, db.begin():
                if login_limits.is_blocked(db, form.username.data, address, now):
                    flash(gettext("Too many failed logins: try again in 15 minutes."), "error")
                    return render_template("login.html", form=form), 429
                user = authenticate(db, form.username.data, form.password.data)
                found = SessionUser.of(user) if user is not None else None
                if found is None:
                    login_limits.record_failure(db, form.username.data, address, now)
                else:
                    login_limits.clear_failures(db, form.username.data)
        except SQLAlchemyError:
            current_app.logger.exception("login: the database failed")
            flash("The database is not reachable; try again in a moment.", "error")
            return render_template("login.html", form=form), 503
        if found is not None:
            next_url = _safe_next(request.args.get("next"))
            session.clear()  # a fresh session (and CSRF token) for the new identity
            login_user(found)
            return redirect(next_url)
        flash(gettext("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    # CSRFProtect has already refused a POST without a valid token.
    logout_user()
    session.clear()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: ``?next=`` must not send people to another site."""
    default = url_for("overview.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return default
    return target
