"""The modeler's settings and calendar JSON (issue 17): procedure.toml edited as forms.

The page keeps the draft's files in the browser until it saves, so these calls take the
files as they stand on the page and answer without storing anything: the settings read from
``procedure.toml``, the text after an edit, the timer labels that text gives (the deploy's
labeller: the server stays the one source of the words), and the calendar tester's due
instant computed by ``engine.calendar``, the arithmetic the deadlines use.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext
from lxml import etree
from sqlalchemy import select

from engine.bpmn_xml import NS
from engine.calendar import CalendarConfigError, calendar_from_config, parse_duration
from engine.timer_labels import DeadlineTimer, LabelError, deadline_timers, timer_label
from tasks.settings_form import SettingsError, apply_edits, read_settings
from web.accounts import User, UserGroup
from web.engine_access import current_engine
from web.modeler import editors_only

bp = Blueprint("modeler_settings", __name__, url_prefix="/modeler")
bp.before_request(editors_only)

CONFIG = "procedure.toml"


def _bad(field: str, message: str):
    return jsonify(error=f"{field}: {message}", field=field), 400


def _payload() -> dict[str, Any] | None:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), dict):
        return None
    if not all(isinstance(text, str) for text in payload["files"].values()):
        return None
    return payload


def _diagrams(files: dict[str, str]) -> dict[str, bytes]:
    return {path: text.encode("utf-8") for path, text in files.items() if path.endswith(".bpmn")}


def _timers(diagrams: dict[str, bytes]) -> list[DeadlineTimer]:
    found: list[DeadlineTimer] = []
    for path, data in sorted(diagrams.items()):
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            continue
        try:
            found.extend(deadline_timers(path, data))
        except etree.XMLSyntaxError:
            continue  # the save's validation says why
    return found


def _lane_names(diagrams: dict[str, bytes]) -> list[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    names: list[str] = []
    for data in diagrams.values():
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            continue
        try:
            root = etree.fromstring(data, parser=parser)
        except etree.XMLSyntaxError:
            continue
        for lane in root.xpath("//bpmn:lane[@name]", namespaces=NS):
            if lane.get("name") not in names:
                names.append(lane.get("name"))
    return names


def timer_labels(timers: list[DeadlineTimer], config: dict[str, Any]) -> list[dict[str, str]]:
    """Every deadline timer's label under ``config`` (a figure that cannot be shown is left out)."""
    labeller = current_engine().handlers.timer_labeller
    labels = []
    for timer in timers:
        if labeller is None:
            break
        try:
            name = timer_label(config, timer, labeller)
        except LabelError:
            continue
        labels.append(
            {"file": timer.file, "element_id": timer.element_id, "clock": timer.clock, "name": name}
        )
    return labels


@bp.post("/drafts/<int:draft_id>/settings")
def settings(draft_id: int):
    """``{"files", "edits": [...]}`` -> the config text after the edits, its settings and labels."""
    payload = _payload()
    if payload is None:
        return _bad("files", gettext('send a JSON object {"files": {path: text}}'))
    edits = payload.get("edits") or []
    if not isinstance(edits, list) or not all(isinstance(edit, dict) for edit in edits):
        return _bad("edits", gettext("send a list of edits"))
    files = payload["files"]
    text = files.get(CONFIG, "")
    diagrams = _diagrams(files)
    timers = _timers(diagrams)
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return _bad(CONFIG, str(error))
    try:
        text = apply_edits(text, edits, timers)
    except SettingsError as error:
        return _bad(error.field, error.message)
    config = tomllib.loads(text)
    return jsonify(
        config=text,
        settings=read_settings(config, timers, _lane_names(diagrams)) | {"members": _members()},
        labels=timer_labels(timers, config),
    )


def _members() -> dict[str, list[str]]:
    """The active people of each group (accounts are edited on the admin's users page)."""
    engine = current_engine()
    with engine.reader() as session:
        rows = session.execute(
            select(UserGroup.name, User.username).join(User).where(User.active).order_by(User.username)
        ).all()
    members: dict[str, list[str]] = {}
    for group, username in rows:
        members.setdefault(group, []).append(username)
    return members


@bp.post("/drafts/<int:draft_id>/calendar-test")
def calendar_test(draft_id: int):
    """``{"files", "calendar", "start": "YYYY-MM-DDTHH:MM" (the calendar's zone), "duration"}``.

    Answers the due instant and the working windows the span crossed.
    """
    payload = _payload()
    if payload is None:
        return _bad("files", gettext('send a JSON object {"files": {path: text}}'))
    name = payload.get("calendar")
    try:
        table = tomllib.loads(payload["files"].get(CONFIG, "")).get("calendars", {}).get(name)
    except tomllib.TOMLDecodeError as error:
        return _bad(CONFIG, str(error))
    if not isinstance(name, str) or not isinstance(table, dict):
        return _bad("calendar", gettext("choose a calendar of procedure.toml"))
    try:
        calendar = calendar_from_config(name, table)
    except CalendarConfigError as error:
        return _bad(f"calendars.{name}.{error.field}", error.message)
    try:
        start = datetime.fromisoformat(str(payload.get("start", "")))
    except ValueError:
        return _bad("start", gettext("choose a date and time"))
    if start.tzinfo is None:
        start = start.replace(tzinfo=calendar.zone)
    try:
        duration = parse_duration(str(payload.get("duration", "")))
    except ValueError as error:
        return _bad("duration", str(error))
    due = calendar.add(start, duration)
    return jsonify(
        start=start.astimezone(calendar.zone).isoformat(),
        due=due.isoformat(),
        windows=[
            [first.isoformat(), last.isoformat()] for first, last in calendar.windows_between(start, due)
        ],
        timezone=str(calendar.zone),
    )
