"""``/admin``: deployed versions, their diff, the default version, and instance migration.

Admins only (role ``admin``); every change is a POST with a CSRF token and is audited
by the engine. The pages call ``engine.versions`` and ``engine.migration_apply``, never
SpiffWorkflow: the same functions ``complaints versions`` and ``complaints
migrate-instances`` use, so the web and the command line report the same thing.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from engine import versions
from engine.errors import EngineError
from web import access
from web.bounded_ints import query_int
from web.engine_access import current_engine

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only():
    if not current_user.is_authenticated:
        return None  # the app-wide login check answers first
    if not access.may_administer(current_user):
        abort(403)
    return None


def _version_arg(name: str) -> int | None:
    if not request.values.get(name, "").strip():
        return None
    return query_int(request.values, name, 1)  # a 400 naming the field, never an overflow


@bp.get("/versions")
def versions_page():
    engine = current_engine()
    listed = versions.list_versions(engine)
    older, newer = _version_arg("from"), _version_arg("to")
    if older is None and newer is None and len(listed) >= 2:
        older, newer = listed[1].version, listed[0].version
    diff, error = None, None
    if older is not None and newer is not None:
        try:
            with engine.reader() as session:
                diff = versions.diff_deployed(session, older, newer)
        except EngineError as failure:
            error = str(failure)
    return render_template(
        "admin/versions.html", versions=listed, diff=diff, error=error, older=older, newer=newer
    )


@bp.post("/versions/default")
def choose_default():
    version = _version_arg("version")
    if version is None:
        abort(400)
    try:
        previous = versions.choose_default(current_engine(), version, actor=current_user.username)
    except EngineError as failure:
        flash(str(failure), "error")
    else:
        message = gettext(
            "New instances now start on v%(version)s (was v%(previous)s).", version=version, previous=previous
        )
        flash(message, "success")
    return redirect(url_for("admin.versions_page"))


# The migration views live in their own module and register on this blueprint.
from web import admin_migration  # noqa: E402, F401
