"""``/modeler/drafts/<id>/whatif``: what the saved draft would have done to the last N days.

The page of a draft that answers "what if this were deployed": each clock's on-time rate
under the draft beside the recorded one, and the running complaints that would be overdue at
once or within the day if migrated (``tasks.whatif`` does the replay). Process owners and
admins only, by the modeler's own check (``web.modeler.editors_only``); ``days`` is 1-365,
anything else a 400 naming the field.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext

from engine import drafts
from engine.errors import NotFound
from tasks import whatif
from web.bounded_ints import query_int
from web.engine_access import current_engine
from web.modeler import editors_only

bp = Blueprint("whatif", __name__, url_prefix="/modeler")
bp.before_request(editors_only)


@bp.get("/drafts/<int:draft_id>/whatif")
def page(draft_id: int):
    engine = current_engine()
    days = query_int(request.args, "days", whatif.DEFAULT_DAYS, minimum=1, maximum=whatif.MAX_DAYS)
    try:
        draft = drafts.get_draft(engine, draft_id)
        result = whatif.replay_draft(engine, draft, days=days)
    except NotFound:
        abort(404)
    except ValueError as error:  # the draft's procedure.toml lacks a figure or a calendar
        message = gettext("The draft cannot be replayed: %(reason)s", reason=str(error))
        return render_template("modeler_whatif.html", draft=draft, days=days, result=None, error=message), 422
    return render_template("modeler_whatif.html", draft=draft, days=days, result=result, error=None)
