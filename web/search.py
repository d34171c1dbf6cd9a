"""``/complaints/search``: every complaint, open or closed, by number, phone, name or account.

Reads the complaint record only (tasks.search); each person sees and counts only the
complaints web.access lets them open, and every result links to its case file.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale, gettext
from flask_login import current_user

from tasks import case_file, words
from tasks import search as finder
from web import access
from web.bounded_ints import MAX_ID, query_int
from web.engine_access import current_engine

bp = Blueprint("search", __name__)

STATUSES = ("open", "closed", "error")


@bp.route("/complaints/search")
def search_page():
    engine = current_engine()
    language = str(get_locale() or "en")
    config = _config(engine)
    choices = {
        "status": {status: case_file.status_words(status, language) for status in STATUSES},
        "type": _labels(config.get("complaint_types", {}), language),
        "channel": _labels(config.get("channels", {}), language),
        "department": _labels(config.get("departments", {}), language),
    }
    args = request.args
    errors: dict[str, str] = {}
    picked = {name: _choice(args, name, options, errors) for name, options in choices.items()}
    zone = current_app.config["DISPLAY_TZ"]
    start = _day(args, "from", zone, errors)
    end = _day(args, "to", zone, errors)
    query = finder.Query(
        text=(args.get("q") or "").strip()[:100],
        status=picked["status"],
        complaint_type=picked["type"],
        channel=picked["channel"],
        department=picked["department"],
        accepted_from=start,
        accepted_before=end + timedelta(days=1) if end is not None else None,
    )
    asked = any(args.get(name) for name in ("q", "status", "type", "channel", "department", "from", "to"))
    page = None
    if asked and not errors:
        number = query_int(args, "page", 1, maximum=MAX_ID // finder.PAGE_SIZE)
        with engine.reader() as session:
            size = current_app.config.get("SEARCH_PAGE_SIZE", finder.PAGE_SIZE)
            page = finder.search(session, query, access.visible_instances(current_user), number, size)
    return (
        render_template(
            "search.html",
            args=args,
            choices=choices,
            errors=errors,
            page=page,
            label=lambda table, code: choices[table].get(code or "", code or ""),
            stage=lambda code: case_file.stage_words(code, language),
            status=lambda code: case_file.status_words(code, language),
            page_url=lambda n: _page_url(args, n),
        ),
        400 if errors else 200,
    )


def _config(engine) -> dict[str, Any]:
    """The config of the version new complaints start on (its labels name the filters' choices)."""
    deployment = engine.default_deployment()
    return {} if deployment is None else engine.runtime(deployment.id).config


def _labels(table: dict[str, Any], language: str) -> dict[str, str]:
    return {
        str(code): words.pick(entry.get("label", code) if isinstance(entry, dict) else str(entry), language)
        for code, entry in table.items()
    }


def _choice(args, name: str, options: dict[str, str], errors: dict[str, str]) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if value not in options:
        errors[name] = gettext("%(field)s: not one of the choices", field=name)
        return None
    return value


def _day(args, name: str, zone, errors: dict[str, str]) -> datetime | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=zone)
    except ValueError:
        errors[name] = gettext("%(field)s: a date like 2026-12-04", field=name)
        return None


def _page_url(args, number: int) -> str:
    kept = {key: value for key, value in args.items() if key != "page" and value}
    return "?" + urlencode({**kept, "page": number})
