"""Values as people read them: config codes by their labels, yes/no, instants, time left (issue 13).

The procedure's codes (``phone``, ``dept:network``, ``return_visit``, ``consumer_association``)
are ids, not words. Pages show them through these filters, in the page's language:

* ``channel_label``, ``department_label``, ``group_label``, ``type_label``, ``category_label``:
  the label of the code in the deployed procedure.toml (an escalation channel is also the
  outside unit that transferred the complaint); ``group_label`` names a department's group by
  the department and another group by its lane;
* ``stage_label``, ``status_label``, ``command_label``: the words of a complaint's stage and
  status, and of a command in its history;
* ``yes_no``: 是/否; ``shown``: any plain data value (bool, ISO instant, text) for reading;
* ``time_left``: "13 h 17 min left" in the page's language.

The config's labels are bilingual ("来电 Phone"): :func:`in_language` keeps the reader's half.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g
from flask_babel import get_locale, gettext, lazy_gettext

from engine.deployments import latest_deployment
from tasks import words
from web.engine_access import current_engine

STAGES = {
    "intake": lazy_gettext("Intake"),
    "dispatch": lazy_gettext("Review and dispatch"),
    "plan_approval": lazy_gettext("Plan approval"),
    "plan_revision": lazy_gettext("Plan revision"),
    "extension_requested": lazy_gettext("Extension requested"),
    "handling": lazy_gettext("Department handling"),
    "reply_review": lazy_gettext("Reply review"),
    "reply": lazy_gettext("Reply to the customer"),
    "written_reply_review": lazy_gettext("Written reply review"),
    "written_reply_approval": lazy_gettext("Written reply approval"),
    "return_visit": lazy_gettext("Return visit"),
    "dissatisfaction_analysis": lazy_gettext("Dissatisfaction analysis"),
    "closing_decision": lazy_gettext("Closing decision"),
    "closed": lazy_gettext("Closed"),
    "in_progress": lazy_gettext("In progress"),
    "error": lazy_gettext("Stopped by an error"),
}

STATUSES = {
    "running": lazy_gettext("in progress"),
    "completed": lazy_gettext("completed"),
    "error": lazy_gettext("stopped by an error"),
    "open": lazy_gettext("open"),
    "closed": lazy_gettext("closed"),
    "cancelled": lazy_gettext("cancelled"),
    "discarded": lazy_gettext("discarded"),
}

COMMANDS = {
    "start": lazy_gettext("started the complaint"),
    "complete": lazy_gettext("completed"),
    "claim": lazy_gettext("claimed"),
    "unclaim": lazy_gettext("released"),
    "assign": lazy_gettext("assigned"),
    "message": lazy_gettext("recorded a message"),
    "timer": lazy_gettext("deadline timer fired"),
    "timer_failed": lazy_gettext("deadline timer failed"),
    "migrate": lazy_gettext("moved to another version"),
    "migrate_revert": lazy_gettext("moved back to its version"),
}


def init_app(app: Flask) -> None:
    for name, function in (
        ("channel_label", channel_label),
        ("department_label", department_label),
        ("group_label", group_label),
        ("type_label", type_label),
        ("category_label", category_label),
        ("stage_label", stage_label),
        ("status_label", status_label),
        ("command_label", command_label),
        ("yes_no", yes_no),
        ("shown", shown),
        ("in_language", in_language),
    ):
        app.add_template_filter(function, name)
    app.add_template_global(time_left, "time_left")


def in_language(label: str) -> str:
    """The reader's half of a bilingual label ("来电 Phone" -> 来电 or Phone)."""
    return words.pick(label, str(get_locale() or "en")) if label else label


def _config() -> Mapping[str, Any]:
    """The newest deployed procedure.toml, read once per request."""
    if "procedure_config" not in g:
        engine = current_engine()
        with engine.reader() as session:
            deployment = latest_deployment(session)
        g.procedure_config = engine.runtime(deployment.id).config if deployment is not None else {}
    return g.procedure_config


def _label(table: str, code: Any) -> str:
    entry = (_config().get(table) or {}).get(code)
    if isinstance(entry, Mapping):
        entry = entry.get("label")
    return in_language(str(entry)) if entry else str(code or "")


def channel_label(code: str | None) -> str:
    return _label("channels", code) if code else ""


def department_label(code: str | None) -> str:
    return _label("departments", code) if code else ""


def type_label(code: str | None) -> str:
    return _label("complaint_types", code) if code else ""


def category_label(code: str | None, table: str = "business_categories") -> str:
    return _label(table, code) if code else ""


def group_label(group: str | None) -> str:
    """A department's group by the department's name, another by its lane on the diagram."""
    if not group:
        return ""
    config = _config()
    for entry in (config.get("departments") or {}).values():
        if isinstance(entry, Mapping) and entry.get("group") == group and entry.get("label"):
            return in_language(str(entry["label"]))
    for lane, lane_group in (config.get("lanes") or {}).items():
        if lane_group == group:
            return in_language(str(lane))
    return group


def stage_label(stage: str | None) -> str:
    return str(STAGES.get(stage or "", stage or ""))


def status_label(status: str | None) -> str:
    return str(STATUSES.get(status or "", status or ""))


def command_label(command: str | None) -> str:
    """What an engine command in a history means, in words."""
    return str(COMMANDS.get(command or "", command or ""))


def yes_no(value: Any) -> str:
    return gettext("yes") if value else gettext("no")


def shown(value: Any) -> str:
    """A plain data value for reading: 是/否, an instant in the display zone to the minute."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] in ("T", " "):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is not None:
            return current_app.jinja_env.filters["instant"](instant)
        return f"{instant:%Y-%m-%d %H:%M}"
    return str(value)


def time_left(due_at: datetime | None, now: datetime) -> str:
    """``13 h 17 min left`` / ``overdue by 1 d 3 h``, in the page's language."""
    if due_at is None:
        return ""
    left = due_at - now
    if left <= timedelta(0):
        return gettext("overdue by %(span)s", span=span(-left))
    return gettext("%(span)s left", span=span(left))


def span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return gettext("%(days)s d %(hours)s h", days=days, hours=hours)
    if hours:
        return gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return gettext("%(minutes)s min", minutes=minutes)
