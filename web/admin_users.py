"""``/admin/users``: accounts and API tokens, for administrators (403 for anyone else).

The page does what ``complaints users`` does, through the same audited functions
(:mod:`web.account_changes`, actor: the admin's username): create a user, change
roles and groups, set a password, disable and enable, list, issue and revoke API
tokens. A new token's secret is rendered once in the response, never put in the
session or a flash message. Refused input is shown next to its field, translated,
with what was typed kept (passwords excepted).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from web import access, account_changes, accounts, api_tokens
from web.accounts import AccountError
from web.engine_access import current_engine

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")

MAX_EXPIRY_DAYS = 3650
_GROUP_SEPARATORS = re.compile(r"[\s,]+")


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return None  # the app-wide login check answers first
    if not access.may_administer(current_user):
        abort(403)
    return None


@bp.get("")
def users_page():
    return _render_list()


@bp.post("")
def create_user():
    form = request.form
    errors = _password_errors(form)
    if not errors:
        try:
            with current_engine().writer() as session, session.begin():
                user = account_changes.create_user(
                    session,
                    **_who(),
                    username=form.get("username", ""),
                    password=form.get("password", ""),
                    display_name=form.get("display_name"),
                    groups=_groups(form.get("groups", "")),
                    roles=form.getlist("roles"),
                )
                username = user.username
        except AccountError as error:
            errors = _field_error(error)
    if errors:
        return _render_list(errors=errors, values=form), 400
    flash(gettext("User %(username)s created.", username=username), "success")
    return redirect(url_for("admin_users.user_page", username=username))


@bp.get("/<username>")
def user_page(username: str):
    return _render_user(username)


@bp.post("/<username>/access")
def change_access(username: str):
    """Roles and groups, in one transaction: both change or neither does."""
    try:
        with current_engine().writer() as session, session.begin():
            who = _who()
            account_changes.change_roles(
                session, **who, username=username, roles=request.form.getlist("roles")
            )
            groups = _groups(request.form.get("groups", ""))
            account_changes.change_groups(session, **who, username=username, groups=groups)
    except AccountError as error:
        return _render_user(username, errors=_field_error(error), values=request.form, status=400)
    flash(gettext("Roles and groups of %(username)s saved.", username=username), "success")
    return redirect(url_for("admin_users.user_page", username=username))


@bp.post("/<username>/password")
def change_password(username: str):
    errors = _password_errors(request.form)
    if not errors:
        try:
            with current_engine().writer() as session, session.begin():
                account_changes.change_password(
                    session, **_who(), username=username, password=request.form.get("password", "")
                )
        except AccountError as error:
            errors = _field_error(error)
    if errors:
        return _render_user(username, errors=errors, status=400)
    flash(
        gettext("New password set for %(username)s; their open sessions have ended.", username=username),
        "success",
    )
    return redirect(url_for("admin_users.user_page", username=username))


@bp.post("/<username>/active")
def change_active(username: str):
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    try:
        with current_engine().writer() as session, session.begin():
            account_changes.set_active(session, **_who(), username=username, active=wanted == "1")
    except AccountError as error:
        return _render_user(username, errors=_field_error(error), status=400)
    if wanted == "1":
        flash(gettext("%(username)s can log in again.", username=username), "success")
    else:
        flash(gettext("%(username)s is disabled: no login, no API token.", username=username), "success")
    return redirect(url_for("admin_users.user_page", username=username))


@bp.post("/<username>/tokens")
def issue_token(username: str):
    form = request.form
    lifetime: timedelta | None = None
    errors: dict[str, str] = {}
    if not form.get("never_expires"):
        days = form.get("expires_days", "").strip()
        if not days.isdigit() or not 1 <= int(days) <= MAX_EXPIRY_DAYS:
            errors["expires_days"] = gettext(
                "A whole number of days from 1 to %(maximum)s.", maximum=MAX_EXPIRY_DAYS
            )
        else:
            lifetime = timedelta(days=int(days))
    if not errors:
        try:
            with current_engine().writer() as session, session.begin():
                issued = account_changes.issue_token(
                    session, **_who(), username=username, label=form.get("label", ""), lifetime=lifetime
                )
                secret, token_id = issued.secret, issued.row.id
        except AccountError as error:
            errors = _field_error(error)
    if errors:
        return _render_user(username, errors=errors, values=form, status=400)
    return _render_user(username, issued_secret=secret, issued_id=token_id, status=201)


@bp.post("/<username>/tokens/<int:token_id>/revoke")
def revoke_token(username: str, token_id: int):
    engine = current_engine()
    with engine.writer() as session, session.begin():
        row = api_tokens.find_token(session, token_id)
        if row is None or api_tokens.owner_of(session, row) != username:
            abort(404)
        account_changes.revoke_token(session, **_who(), token_id=token_id)
    flash(gettext("Token %(token_id)s revoked.", token_id=token_id), "success")
    return redirect(url_for("admin_users.user_page", username=username))


# ---------------------------------------------------------------------- helpers


def _who() -> dict[str, Any]:
    return {"actor": current_user.username, "now": current_engine().clock.now()}


def _groups(text: str) -> list[str]:
    """Groups are typed in one box, separated by spaces or commas."""
    return [name for name in _GROUP_SEPARATORS.split(text) if name]


def _password_errors(form) -> dict[str, str]:
    if form.get("password", "") != form.get("confirm", ""):
        return {"confirm": gettext("The two passwords differ.")}
    return {}


def _field_error(error: AccountError) -> dict[str, str]:
    """The refusal next to its field, in the reader's language (the templates are in the catalogue)."""
    field = {"expires": "expires_days", "token": "label"}.get(error.field, error.field)
    return {field: gettext(error.message, **error.params)}


def _render_list(*, errors: dict[str, str] | None = None, values=None):
    with current_engine().reader() as session:
        users = accounts.list_users(session)
        rows = [_summary(user) for user in users]
    return render_template(
        "admin/users.html", users=rows, roles=accounts.ROLES, errors=errors or {}, values=values or {}
    )


def _render_user(
    username: str,
    *,
    errors: dict[str, str] | None = None,
    values=None,
    issued_secret: str | None = None,
    issued_id: int | None = None,
    status: int = 200,
):
    engine = current_engine()
    with engine.reader() as session:
        user = accounts.find_user(session, username)
        if user is None:
            abort(404)
        summary = _summary(user)
        tokens = api_tokens.tokens_of(session, user.username)
    now = engine.clock.now()
    body = render_template(
        "admin/user.html",
        user=summary,
        tokens=[(row, row.state(now)) for row in tokens],
        roles=accounts.ROLES,
        errors=errors or {},
        values=values or {},
        issued_secret=issued_secret,
        issued_id=issued_id,
        default_expiry_days=api_tokens.DEFAULT_LIFETIME.days,
        max_expiry_days=MAX_EXPIRY_DAYS,
    )
    return body, status


def _summary(user: accounts.User) -> dict[str, Any]:
    """A plain copy, so the templates never touch a closed session."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "roles": user.roles,
        "groups": user.groups,
        "active": user.active,
        "is_demo": user.is_demo,
        "created_at": user.created_at,
    }
