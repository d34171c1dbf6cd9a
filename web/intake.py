"""Intake helpers (T2, T3, A5): the customer's complaints while the agent types, and pre-filled records.

``GET /intake/lookup?phone=...`` (intake group only) answers
``{"open": [...], "recent": [...]}`` from ``tasks.records.find_by_phone``: the customer's
complaints still open, and those closed within the last 90 days, newest first, each with
its number, status, stage, acceptance instant and an excerpt of its description (kept in
``complaint_contacts`` by ``tasks.contacts``: the lookup runs per keystroke and lists never
load workflows). ``web/static/intake.js`` calls it on
the intake task's page as the phone is typed and offers to link a complaint as T2 (still in
progress), T3 (dissatisfied with the result) or to confirm a separate matter. It only fills
in fields: the intake validator stays the authority, and a T2 merge's reminder goes in the
intake's own command (``tasks.repeats``, through the engine's outbox).

``prefilled`` gives the intake form what the complaint was started with (a website
submission, ``web.public``), so the agent verifies rather than retypes it (A5).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from flask_login import current_user

from engine.models import Instance
from tasks import contacts, records
from web import access
from web.engine_access import current_engine

bp = Blueprint("intake", __name__, url_prefix="/intake")

INTAKE_FORM = "record_complaint.json"
RECENT = timedelta(days=90)
MAX_ROWS = 10  # per list: a customer with more is better looked up on the complaint pages
MIN_DIGITS = 5


@bp.get("/lookup")
def lookup():
    if not access.may_look_up_callers(current_user):
        abort(403)
    phone = (request.args.get("phone") or "").strip()[:40]
    if len(records.normalise_phone(phone).lstrip("+")) < MIN_DIGITS:
        return jsonify({"phone": phone, "open": [], "recent": []})
    engine = current_engine()
    with engine.reader() as session:
        found = records.find_by_phone(session, phone, now=engine.clock.now(), recent=RECENT)
        open_rows = [row for row in found if row.status != "closed"][:MAX_ROWS]
        recent_rows = [row for row in found if row.status == "closed"][:MAX_ROWS]
        shown = contacts.contacts_of(session, [row.instance_id for row in open_rows + recent_rows])
    excerpts = {instance_id: contact.description_excerpt or "" for instance_id, contact in shown.items()}
    return jsonify(
        {
            "phone": records.normalise_phone(phone),
            "open": [_complaint_json(row, excerpts) for row in open_rows],
            "recent": [_complaint_json(row, excerpts) for row in recent_rows],
        }
    )


def _complaint_json(row, excerpts: dict[int, str]) -> dict[str, Any]:
    return {
        "number": row.number,
        "status": row.status,
        "stage": row.stage,
        "accepted_at": row.accepted_at.isoformat() if row.accepted_at else None,
        "accepted_at_text": _shown(row.accepted_at),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "outcome": row.outcome,
        "flags": row.flags,
        "description": excerpts.get(row.instance_id, ""),
    }


def _shown(instant) -> str | None:
    """As the pages show instants: in the display zone, with the offset."""
    if instant is None:
        return None
    local = instant.astimezone(current_app.config["DISPLAY_TZ"])
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def _intake_element_of(instance_id: int) -> str | None:
    """A5: the record task of the instance's version (its ``stage`` property is ``intake``)."""
    engine = current_engine()
    with engine.reader() as session:
        instance = session.get(Instance, instance_id)
    if instance is None:
        return None
    return records.intake_element(engine.runtime(instance.deployment_id).element_properties)


def prefilled(row, data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The intake form's fields that the complaint's data already holds (a website submission).

    Only for the open intake task; any other task opens empty as before.
    """
    if row.status != "open" or row.element_id != _intake_element_of(row.instance_id):
        return {}
    fields = schema.get("properties") or {}
    return {name: value for name, value in data.items() if name in fields and value not in (None, "")}
