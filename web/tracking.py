"""Complaint lists beside the inbox: "my complaints" (A1) and the escalation desk's board (T6).

A1: the person who took a complaint at first contact owns it until it is closed, so they
can find the ones still open whoever holds them now. T6: the escalation desk tracks every
open escalated complaint end to end: outside deadline, stage, current holder. Both read the
complaint record (tasks.records), never a workflow.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from tasks import records
from web import access
from web.engine_access import current_engine

bp = Blueprint("tracking", __name__)


@bp.route("/complaints/mine")
def my_complaints():
    """A1: the open complaints the signed-in person took at first contact."""
    engine = current_engine()
    with engine.reader() as session:
        owned = records.owned_by(session.connection(), current_user.username)
        holders = records.current_holders(session.connection(), [row.instance_id for row in owned], engine)
    return render_template("complaint_list.html", kind="mine", complaints=owned, holders=holders)


@bp.route("/complaints/escalated")
def escalated_complaints():
    """T6: every open escalated complaint, the nearest outside deadline first."""
    if not access.may_track_escalations(current_user):
        abort(403)
    engine = current_engine()
    with engine.reader() as session:
        escalated = records.open_escalated(session.connection())
        listed = [row.instance_id for row in escalated]
        holders = records.current_holders(session.connection(), listed, engine)
    return render_template(
        "complaint_list.html", kind="escalated", complaints=escalated, holders=holders, now=engine.clock.now()
    )
