"""Where agents work: the inbox, claiming, the task page with its form, a new complaint.

Every action goes through the engine with the user's groups, so the engine itself
refuses a task of another group or one claimed by someone else; the pages only
decide what to show. Field errors come back from the engine (form schema, then the
task's validator) and are shown at their fields with everything typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from engine import views
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcessError
from engine.inbox import PAGE_SIZE, InboxFilter, inbox
from engine.models import HumanTask, Instance
from tasks import clock_marks, contacts, records, repeats, returns, validators
from tasks.warning_share import DEFAULT_FRACTION
from web import access, accounts, intake, people, task_extras, value_labels
from web.auth import safe_next
from web.bounded_ints import MAX_ID, query_int
from web.engine_access import current_engine
from web.form_conditions import applicable_values, conditions_of, context_names, hidden_fields
from web.form_fields import Choice, display_values, fields_of, parse_submission, with_open_choices
from web.i18n import said
from web.task_context import context_rows

bp = Blueprint("work", __name__)


@bp.route("/inbox")
def inbox_page():
    engine = current_engine()
    groups = current_user.groups
    group = request.args.get("group") or None
    if not access.may_list_group(current_user, group):
        abort(403)
    text = (request.args.get("q") or "").strip()
    kind = request.args.get("type") or None
    if kind is not None and kind not in records.URGENT_TYPES:
        abort(400)
    by_phone = _looks_like_phone(text)
    wanted = InboxFilter(
        user=current_user.username,
        groups=groups,
        group=group,
        overdue_only=request.args.get("overdue") == "1",
        search=None if by_phone or not text else text,
        instances=(
            contacts.instances_matching(phone=text if by_phone else None, complaint_type=kind)
            if by_phone or kind
            else None
        ),
    )
    now = engine.clock.now()
    page_number = query_int(request.args, "page", 1, maximum=MAX_ID // PAGE_SIZE)
    with engine.reader() as session:
        page = inbox(session, wanted, now=now, page=page_number)
        complaints = records.complaints_of_instances(
            session.connection(), [row.instance_id for row in page.rows]
        )
        complaints.update(_not_numbered(session, [row.instance_id for row in page.rows], complaints))
        versions = dict(
            session.execute(
                select(Instance.id, Instance.deployment_id).where(
                    Instance.id.in_({row.instance_id for row in page.rows})
                )
            ).all()
        )
        clocks = clock_marks.clock_rows(session.connection(), versions)
        names = people.display_names(session, [row.assignee for row in page.rows])
    return render_template(
        "inbox.html",
        page=page,
        names=names,
        complaints=complaints,
        wanted=wanted,
        now=now,
        urgency=lambda row: task_urgency(engine, versions.get(row.instance_id), clocks, row, now),
        time_left=lambda row: time_left(row.due_at, now),
        may_start=access.may_start_complaint(current_user),
        kind=kind,
        types=records.URGENT_TYPES,
    )


def _not_numbered(session, instance_ids: list[int], numbered: dict) -> dict[int, Any]:
    """Inbox cells of complaints with no record yet (a website complaint awaiting its A5
    call): customer, phone and channel from the contact row, at the intake stage."""
    waiting = [instance_id for instance_id in instance_ids if instance_id not in numbered]
    return {
        instance_id: SimpleNamespace(
            customer_name=row.customer_name,
            customer_phone=row.customer_phone,
            channel=row.channel,
            stage="intake",
            type_flags="",
        )
        for instance_id, row in contacts.contacts_of(session, waiting).items()
    }


def _looks_like_phone(text: str) -> bool:
    """A search of 7 or more digits (spaces, dashes, a leading + allowed) is a phone number."""
    return sum(ch.isdigit() for ch in text) >= 7 and all(ch.isdigit() or ch in " -+" for ch in text)


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    return _act(
        task_id,
        lambda engine: engine.claim(
            task_id, actor=current_user.username, actor_groups=access.acting_groups(current_user)
        ),
        lambda task: gettext("%(task)s: claimed.", task=task),
    )


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str):
    return _act(
        task_id,
        lambda engine: engine.unclaim(task_id, actor=current_user.username),
        lambda task: gettext("%(task)s: released.", task=task),
    )


def _act(task_id: str, action, done: Callable[[str], str]):
    engine = current_engine()
    try:
        row = engine.task(task_id)
        action(engine)
        flash(done(value_labels.in_language(row.name)), "info")
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except Conflict as conflict:
        flash(str(conflict), "error")
    return redirect(safe_next(request.form.get("next"), url_for("work.inbox_page")))


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
def task_page(task_id: str):
    engine = current_engine()
    row = _visible_task(task_id)
    instance = engine.instance(row.instance_id)
    schema = engine.runtime(instance.deployment_id).forms.get(row.form or "", {"properties": {}})
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    draft_saved_at = None
    data = engine.instance_data(row.instance_id)  # loaded once: conditions, pre-filling, context panels
    form_context = {name: data[name] for name in context_names(schema) if name in data}
    if request.method == "POST" and row.status == "open":
        values, errors = parse_submission(schema, request.form, current_app.config["DISPLAY_TZ"])
        # what does not apply is not sent by the page; a stale or scripted value is dropped too
        values = applicable_values(schema, values, form_context)
        errors = {name: message for name, message in errors.items() if name in values or name == "_form"}
        if request.form.get("action") == "draft":
            with engine.writer() as session, session.begin():
                typed = {
                    key: entered
                    for key, entered in request.form.to_dict(flat=False).items()
                    if key not in ("csrf_token", "action")
                }
                task_extras.save_draft(session, task_id, current_user.username, typed, engine.clock.now())
            flash(gettext("Draft saved: it stays here until you complete the task."), "info")
            return redirect(url_for("work.task_page", task_id=task_id))
        if not errors:
            try:
                result = engine.complete_task(
                    task_id,
                    actor=current_user.username,
                    data=values,
                    actor_groups=access.acting_groups(current_user),
                    record=lambda outcome: task_extras.drop_drafts(outcome.connection, task_id),
                )
                flash(gettext("%(task)s: done.", task=value_labels.in_language(row.name)), "info")
                problem = follow_up(engine, result, current_user.username)
                if problem:
                    flash(problem, "error")
                return redirect(url_for("work.inbox_page"))
            except InvalidInput as refused:
                errors = said(refused.field_errors)
            except Forbidden as refused:
                flash(str(refused), "error")
                abort(403)
            except Conflict as conflict:
                flash(str(conflict), "error")
                return redirect(url_for("work.inbox_page"))
            except ProcessError as failed:
                errors = {
                    "_form": gettext("The procedure could not continue: %(reason)s", reason=str(failed))
                }
    history = views.history(engine, row.instance_id)
    reworking = returns.open_return(history, row.element_id) if row.status == "open" else None
    if request.method != "POST" and row.status == "open":
        with engine.reader() as session:
            draft = task_extras.load_draft(session, task_id, current_user.username)
        if draft is not None:
            typed, draft_saved_at = draft
            values, _ = parse_submission(schema, _MultiDictOf(typed), current_app.config["DISPLAY_TZ"])
        elif reworking is not None:  # E5, T1, R3: the previous answers, to fix rather than retype
            fields = schema.get("properties") or {}
            answers = returns.previous_answers(history, row.element_id)
            values = {name: value for name, value in answers.items() if name in fields}
        else:
            values = intake.prefilled(row, data, schema)  # e.g. what a website submission holds
    with engine.reader() as session:
        evidence = task_extras.evidence_of(session, row.instance_id)
        members = (
            accounts.users_in_group(session, row.candidate_group)
            if access.may_assign(current_user) and row.candidate_group
            else []
        )
        # Shown by name, sent by id.
        colleagues = [(user.username, value_labels.in_language(user.display_name)) for user in members]
        names = people.display_names(session, _people_on_the_page(row, history, reworking))
    return (
        render_template(
            "task.html",
            task=row,
            instance=instance,
            schema=schema,
            fields=with_open_choices(fields_of(schema), _evidence_choices(evidence)),
            values=display_values(schema, values, current_app.config["DISPLAY_TZ"]),
            errors=errors,
            labels={item.name: item.label for item in fields_of(schema)},
            first_error=next((name for name in errors if name in schema.get("properties", {})), None),
            conditions={
                name: [condition.as_json() for condition in found]
                for name, found in conditions_of(schema).items()
            },
            hidden=hidden_fields(schema, _as_sent(schema, values), form_context) - set(errors),
            form_context=form_context,
            context=context_rows(data, engine.runtime(instance.deployment_id).forms),
            history=history[-12:],
            task_names=_task_names(engine, row.instance_id),
            reworking=reworking,
            past_returns=[item for item in returns.returns_of(history) if not item.open],
            linked=_linked_complaint(engine, data),
            evidence=evidence,
            colleagues=colleagues,
            names=names,
            draft_saved_at=draft_saved_at,
            now=engine.clock.now(),
        ),
        422 if errors else 200,
    )


def _people_on_the_page(row, history, reworking) -> set[str]:
    """Usernames the task page mentions: its assignee, whoever acted, returned or reworked."""
    found = {row.assignee, row.completed_by} | {entry.actor for entry in history}
    for item in returns.returns_of(history):
        found |= {item.by, item.answered_by}
    if reworking is not None:
        found.add(reworking.by)
    return {name for name in found if name}


def _task_names(engine, instance_id: int) -> dict[str, str]:
    """The instance's task names by element id, so its history reads in words."""
    with engine.reader() as session:
        rows = session.execute(
            select(HumanTask.element_id, HumanTask.name).where(HumanTask.instance_id == instance_id)
        ).all()
    return {element: name for element, name in rows if name}


def _as_sent(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The values as the page would send them: an unticked checkbox is false."""
    unticked = {item.name: False for item in fields_of(schema) if item.widget == "checkbox"}
    return {**unticked, **values}


def _evidence_choices(evidence: list[task_extras.EvidenceFile]) -> tuple[Choice, ...]:
    """H4: each uploaded file as an evidence reference ``sha256:<digest>``."""
    return tuple(Choice(f"sha256:{e.sha256}", f"{e.filename} · {e.sha256[:12]}…") for e in evidence)


@bp.post("/tasks/<task_id>/evidence")
def upload_evidence(task_id: str):
    """H4: keep a file proving the handling or the customer's agreement, with its SHA-256."""
    engine = current_engine()
    row = _visible_task(task_id)
    upload = request.files.get("evidence")
    if upload is None or not upload.filename:
        flash(gettext("Choose a file to attach."), "error")
        return redirect(url_for("work.task_page", task_id=task_id))
    try:
        with engine.writer() as session, session.begin():
            kept = task_extras.add_evidence(
                session,
                instance_id=row.instance_id,
                task_id=task_id,
                filename=upload.filename,
                content_type=upload.mimetype,
                content=upload.read(task_extras.MAX_EVIDENCE_BYTES + 1),
                username=current_user.username,
                now=engine.clock.now(),
            )
            flash(
                gettext(
                    "Attached %(file)s (SHA-256 %(digest)s…).", file=kept.filename, digest=kept.sha256[:16]
                ),
                "info",
            )
    except ValueError as refused:
        flash(str(refused), "error")
    return redirect(url_for("work.task_page", task_id=task_id))


@bp.get("/evidence/<int:evidence_id>")
def download_evidence(evidence_id: int):
    engine = current_engine()
    with engine.reader() as session:
        evidence = session.get(task_extras.EvidenceFile, evidence_id)
        if evidence is None:
            abort(404)
        if not access.may_see_file(session, current_user, evidence.instance_id):
            abort(403)
        content, name, kind = evidence.content, evidence.filename, evidence.content_type
    return Response(
        content,
        mimetype=kind,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@bp.post("/tasks/<task_id>/assign")
def assign(task_id: str):
    """Supervisors hand a task to someone of its group."""
    if not access.may_assign(current_user):
        abort(403)
    assignee = (request.form.get("assignee") or "").strip()
    engine = current_engine()
    row = engine.task(task_id)
    with engine.reader() as session:
        members = {user.username for user in accounts.users_in_group(session, row.candidate_group or "")}
    if assignee not in members:
        group = value_labels.group_label(row.candidate_group)
        flash(gettext("%(who)s is not in the group %(group)s.", who=assignee or "—", group=group), "error")
        return redirect(url_for("work.task_page", task_id=task_id))
    return _act(
        task_id,
        lambda engine: engine.assign(task_id, actor=current_user.username, assignee=assignee),
        lambda task: gettext("%(task)s: assigned to %(who)s.", task=task, who=assignee),
    )


def follow_up(engine, result, actor: str) -> str | None:
    """What the person must hear of a command's follow-ups: a T2 reminder that cannot arrive.

    A repeat call merged into a running complaint writes its reminder (催办) in the intake's
    own transaction and the engine delivers it after the commit (tasks.repeats, engine.outbox);
    this only reads what became of it. Versions deployed before that step get it sent here.
    Returns a message for the person when it could not be delivered.
    """
    if result.status != "completed":
        return None
    try:
        repeats.deliver_legacy_reminder(engine, result.instance_id, actor=actor)
    except Conflict:
        return _closed_meanwhile()
    if repeats.reminder_state(engine, result.instance_id) == "failed":
        return _closed_meanwhile()
    return None


def _closed_meanwhile() -> str:
    return gettext("The complaint this call was linked to has closed meanwhile: record a new one (T3).")


def _visible_task(task_id: str):
    engine = current_engine()
    try:
        row = engine.task(task_id)
    except NotFound:
        abort(404)
    with engine.reader() as session:
        if not access.may_see_task(session, current_user, task_id):
            abort(403)
    return row


class _MultiDictOf(dict):
    """A saved draft (``{field: [values]}``) read back like the submitted form it was."""

    def get(self, key: str, default: Any = None) -> Any:
        values = super().get(key)
        return values[0] if values else default

    def getlist(self, key: str) -> list[str]:
        return list(super().get(key) or [])


@bp.post("/complaints/new")
def new_complaint():
    """Intake starts a complaint and goes straight to its first form (recording it).

    T5: the escalation desk receives transfers from outside units at its own entry: for a
    member of the desk (not of intake) the record task is offered to the desk.
    """
    if not access.may_start_complaint(current_user):
        abort(403)
    data = {"received_by": validators.ESCALATION_DESK} if access.starts_at_the_desk(current_user) else {}
    result = current_engine().start(actor=current_user.username, data=data)
    if result.opened_task_ids:
        return redirect(url_for("work.task_page", task_id=result.opened_task_ids[0]))
    return redirect(url_for("work.inbox_page"))


def _linked_complaint(engine, data: dict[str, Any]) -> dict[str, Any] | None:
    """R1, T2/T3: the earlier complaint this one repeats, with the reply it got.

    One reply script per complaint: whoever replies now must stay consistent with it.
    """
    number = data.get("repeat_of")
    if not number:
        return None
    with engine.reader() as session:
        earlier = records.find_by_number(session.connection(), str(number))
    if earlier is None:
        return None
    earlier_data = engine.instance_data(earlier.instance_id)
    return {
        "number": earlier.number,
        "instance_id": earlier.instance_id,
        "status": earlier.status,
        "outcome": earlier.outcome,
        "reply_text": earlier_data.get("reply_text"),
    }


def urgency(
    created_at: datetime, due_at: datetime | None, now: datetime, about_to_breach: float = DEFAULT_FRACTION
) -> str:
    """``overdue``, ``soon`` (the configured share of the span used, [warnings]) or ``""``."""
    if due_at is None:
        return ""
    if now >= due_at:
        return "overdue"
    span = (due_at - created_at).total_seconds()
    if span > 0 and (now - created_at).total_seconds() / span >= about_to_breach:
        return "soon"
    return ""


def task_urgency(engine, deployment_id: int | None, clocks: dict[int, list], row, now: datetime) -> str:
    """An open task's colour from the one clock model: its guarding clock past warn_at (amber)
    or due (red). A task no clock row guards yet (a complaint not numbered) uses its own due."""
    catalogue = engine.runtime(deployment_id).clock_catalogue if deployment_id is not None else None
    state = clock_marks.task_state(catalogue, clocks.get(row.instance_id, []), row.element_id, now)
    return state if state is not None else urgency(row.created_at, row.due_at, now)


def time_left(due_at: datetime | None, now: datetime) -> str:
    """``1 h 15 min left`` / ``overdue by 1 d 3 h`` in the page's language (web.value_labels)."""
    return value_labels.time_left(due_at, now)
