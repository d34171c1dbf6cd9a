"""A complaint as a case file: the customer, the matter, each step in words, the clocks, the diagram.

Who may look is web.access's rule for complaints, the same as the API's.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import select

from engine import views
from engine.errors import Conflict, NotFound
from engine.models import HumanTask, Instance
from tasks import case_file, clock_marks, discard, records
from web import access, people, task_extras
from web.diagrams import version_diagrams

bp = Blueprint("instances", __name__)

MIIT_CHANNEL = "miit"  # C1: transfers from the Ministry's user-appeal centre need the H7 form
PROGRESS_MESSAGE = "progress_reply"  # the procedure's L1 event subprocess listens for it


@bp.route("/instances/<int:instance_id>")
def instance_page(instance_id: int):
    engine = _engine()
    instance = _viewable(instance_id)
    now = engine.clock.now()
    language = str(get_locale() or "en")
    runtime = engine.runtime(instance.deployment_id)
    with engine.reader() as session:
        tasks = session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.created_at)
        ).all()
        breaches = records.breaches_of(session.connection(), instance_id)
        complaint = records.complaint_of_instance(session.connection(), instance_id)
        clock_rows = clock_marks.clock_rows(session.connection(), [instance_id], running_only=False)
        evidence = task_extras.evidence_of(session, instance_id)
        history = views.history(engine, instance_id)
        names = people.display_names(
            session, {entry.actor for entry in history} | {e.uploaded_by for e in evidence}
        )
    clock_rows = clock_rows.get(instance_id, [])
    wording = case_file.Wording(
        runtime.forms, runtime.config, language, current_app.config["DISPLAY_TZ"], runtime.element_properties
    )
    case = case_file.build(history, tasks, wording)
    overdue = [task.id for task in tasks if task.status == "open" and task.due_at and task.due_at <= now]
    return render_template(
        "instance.html",
        instance=instance,
        appeal_feedback=complaint is not None and complaint.channel == MIIT_CHANNEL,
        complaint=complaint,
        case=case,
        names=names,
        evidence=evidence,
        status_words=case_file.status_words(_status(instance, complaint), language),
        stage_words=case_file.stage_words(_stage(instance, complaint), language),
        outcome_words=case_file.outcome_words(complaint.outcome if complaint else None, language),
        open_tasks=[
            (wording.words(task.name), wording.group(task.candidate_group), task)
            for task in tasks
            if task.status == "open"
        ],
        breaches=breaches,
        clocks=_clocks(complaint, clock_rows, {breach.clock for breach in breaches}, now),
        now=now,
        left=lambda due: left_words(due, now),
        viewer=_viewer(engine, instance, overdue),
        may_discard=discard.refusal(engine, instance_id, current_user.username, has_draft) is None,
    )


def _status(instance: Instance, complaint) -> str:
    return instance.status if complaint is None or instance.status == "cancelled" else complaint.status


def _stage(instance: Instance, complaint) -> str:
    if instance.status == "cancelled":
        return "discarded"
    if complaint is not None:
        return complaint.stage
    return "closed" if instance.status == "completed" else "intake"


def left_words(due: datetime | None, now: datetime) -> str:
    """Time left to a due instant (or how late it is) in the page's language."""
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    minutes = abs(seconds) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        span = gettext("%(days)s d %(hours)s h", days=days, hours=hours)
    elif hours:
        span = gettext("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    else:
        span = gettext("%(minutes)s min", minutes=minutes)
    return gettext("%(span)s left", span=span) if seconds > 0 else gettext("overdue by %(span)s", span=span)


@bp.post("/instances/<int:instance_id>/discard")
def discard_complaint(instance_id: int):
    """A complaint started by mistake: its starter discards it while the record task is untouched."""
    _viewable(instance_id)
    reason = (request.form.get("reason") or "").strip()
    try:
        discard.discard(
            _engine(), instance_id, actor=current_user.username, reason=reason, has_draft=has_draft
        )
    except Conflict as refused:
        current_app.logger.info("discard of %s refused: %s", instance_id, refused)
        flash(
            gettext(
                "This complaint can no longer be discarded: only its starter may, before its record is saved."
            ),
            "error",
        )
        return redirect(url_for("instances.instance_page", instance_id=instance_id))
    flash(gettext("The complaint was discarded. No number was used."), "info")
    return redirect(url_for("work.inbox_page"))


def has_draft(connection, task_id: str) -> bool:
    """Someone saved a draft of this task (web.task_extras): it is no longer untouched."""
    query = select(task_extras.TaskDraft.task_id).where(task_extras.TaskDraft.task_id == task_id)
    return connection.execute(query.limit(1)).first() is not None


@bp.post("/instances/<int:instance_id>/progress")
def progress_told(instance_id: int):
    """L1: someone on the case told the customer how far the handling has got."""
    instance = _viewable(instance_id)
    note = (request.form.get("note") or "").strip()
    if not note:
        flash(gettext("Say what the customer was told."), "error")
    else:
        try:
            _engine().send_message(
                instance.id,
                PROGRESS_MESSAGE,
                actor=current_user.username,
                payload={"note": note[:2000], "by": current_user.username},
            )
            flash(gettext("Recorded: the customer was told the progress."), "info")
        except Conflict as conflict:
            flash(str(conflict), "error")
    return redirect(url_for("instances.instance_page", instance_id=instance_id))


def _viewer(engine, instance: Instance, overdue_task_ids: list[str]) -> str | None:
    """The diagram viewer's options: the version's diagrams and this instance's marks per call chain.

    The page opens on the map (the top diagram) with the current path highlighted; the
    viewer opens a path when asked, with its current task centred.
    """
    version = version_diagrams(engine, deployment_id=instance.deployment_id)
    if version is None:
        return None
    where = views.path_of(engine, instance.id, version.index, overdue_task_ids).as_dict()
    return json.dumps(
        {
            "diagramsUrl": url_for("diagrams.diagrams_json", version=version.version),
            "scopes": where["scopes"],
            "currentPath": where["current_path"],
            "start": [],
        }
    )


def _clocks(complaint, rows: list, breached: set[str], now) -> list[dict]:
    """L7: every clock of the complaint from the one clock model (due, warning, outcome); E3
    extensions show as the count on the clock they moved."""
    if complaint is None:
        return []
    return [
        {
            "clock": row["clock"],
            "round": row["round"],
            "started_at": row["started_at"],
            "due": row["due_at"],
            "first_due": row["first_due_at"],
            "warn_at": row["warn_at"],
            "extensions": row["extensions"],
            "done_at": row["stopped_at"],
            "met": {"met": True, "missed": False}.get(row["status"]),
            "late_by_s": row["late_by_s"],
            "breached": row["clock"] in breached or clock_marks.clock_state(row, now) == clock_marks.OVERDUE,
            "state": clock_marks.clock_state(row, now),
        }
        for row in sorted(rows, key=lambda row: (row["clock"], row["round"]))
    ]


def _instant(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@bp.route("/instances/<int:instance_id>/appeal-feedback")
def appeal_feedback(instance_id: int):
    """H7: the User Appeal Handling Feedback Form of a MIIT transfer, filled in from the complaint.

    The department's reply already holds what the form asks (E1 responsibility, E2 handling and
    earlier complaints, the form's reference); the page lays it out to print or attach to the
    report back (T7), so nobody copies it by hand. Fields not recorded yet show as empty.
    """
    instance = _viewable(instance_id)
    data = _engine().instance_data(instance_id)
    if data.get("channel") != MIIT_CHANNEL:
        abort(404)
    return render_template("appeal_feedback.html", instance=instance, data=data)


def _viewable(instance_id: int) -> Instance:
    engine = _engine()
    try:
        instance = engine.instance(instance_id)
    except NotFound:
        abort(404)
    with engine.reader() as session:
        if not access.may_see_complaint(session, current_user, instance_id):
            abort(403)
    return instance


def _engine():
    return current_app.extensions["process_engine"]
