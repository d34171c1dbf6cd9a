"""``/modeler``: process owners edit the procedure as drafts; admins deploy them.

The editor page is bpmn-js's Modeler (served from ``static/vendor``, no CDN) with a small
side panel of our own (``static/modeler.js``) for the properties the engine reads: a task's
form and validator, a service task's operation, a timer's expression, a flow's condition, a
script, and the lane a task is in (lanes map to groups in ``[lanes]`` of procedure.toml,
which is edited beside the diagram with the forms). The official properties panel needs a
bundler and knows Camunda's or SpiffArena's extensions, not the few ours uses; the panel
here is a page of plain JavaScript on the ``spiffworkflow`` moddle namespace.

Saving sends the whole bundle as JSON; the server keeps it (engine.drafts: nothing typed is
lost, valid or not) and answers with every validation problem, which the page pins to its
element on the canvas. Process owners and admins edit, upload and submit; admins deploy,
through ``ProcessEngine.deploy``, which validates once more.

Uploads (a .zip bundle, or one .bpmn exported by another modeler, which then replaces the
base version's diagram of the same name, or the one defining the same process, and keeps the
other diagrams, the forms and the config: the procedure is a map and one file per path) are
validated completely before a draft is made: refused uploads store nothing.
"""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from engine import drafts, property_names, versions
from engine.bundle import (
    BPMN_SUFFIX,
    MAX_FILE_BYTES,
    MAX_ZIP_BYTES,
    BundleError,
    bundle_from_files,
    bundle_from_zip,
)
from engine.errors import Conflict, EngineError, NotFound
from engine.models import Deployment
from engine.timer_labels import deadline_timers
from engine.validation import BundleInvalid, Problem, parse_bpmn_safely
from web import access
from web.bounded_ints import query_int
from web.editor_words import editor_words
from web.engine_access import current_engine

bp = Blueprint("modeler", __name__, url_prefix="/modeler")

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def _is_admin() -> bool:
    return access.may_administer(current_user)


@bp.before_request
def editors_only():
    if not current_user.is_authenticated:
        return None  # the app-wide login check answers first
    if not access.may_edit_procedure(current_user):
        abort(403)
    return None


def _draft_or_404(draft_id: int) -> drafts.DraftView:
    try:
        return drafts.get_draft(current_engine(), draft_id)
    except NotFound:
        abort(404)


def problem_dicts(problems: list[Problem] | None) -> list[dict[str, Any]]:
    return [
        {"file": p.file, "line": p.line, "element_id": p.element_id, "message": p.message, "text": str(p)}
        for p in problems or []
    ]


# --------------------------------------------------------------------------- list, new, upload


@bp.get("")
def index():
    return _index_page()


def _index_page(upload_problems=None, upload_error=None, status=200):
    engine = current_engine()
    return (
        render_template(
            "modeler.html",
            drafts=drafts.list_drafts(engine),
            versions=versions.list_versions(engine),
            is_admin=_is_admin(),
            upload_problems=upload_problems,
            upload_error=upload_error,
        ),
        status,
    )


@bp.post("/drafts")
def create():
    version = request.form.get("base_version", "").strip()
    try:
        draft = drafts.create_draft(
            current_engine(),
            actor=current_user.username,
            title=request.form.get("title", ""),
            base_version=query_int(request.form, "base_version", 1) if version.isdigit() else None,
        )
    except drafts.DraftError as error:
        flash(str(error), "error")
        return redirect(url_for("modeler.index"))
    return redirect(url_for("modeler.editor", draft_id=draft.id))


@bp.post("/upload")
def upload():
    """A .zip bundle or one .bpmn file: a new draft when valid; every problem and nothing stored when not."""
    engine = current_engine()
    title = request.form.get("title", "").strip()
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise drafts.DraftError("file", gettext("choose a .bpmn diagram or a .zip bundle to upload"))
        bundle, base_version = _uploaded_bundle(file)
        draft = drafts.create_draft(
            engine,
            actor=current_user.username,
            title=title or file.filename,
            base_version=base_version,
            bundle=bundle,
        )
    except (drafts.DraftError, BundleError) as error:
        return _index_page(upload_error=str(error), status=400)
    except BundleInvalid as invalid:
        return _index_page(upload_problems=problem_dicts(invalid.problems), status=422)
    flash(gettext("Upload accepted as draft %(id)s.", id=draft.id), "success")
    return redirect(url_for("modeler.editor", draft_id=draft.id))


@bp.errorhandler(413)
def upload_too_large(_error):
    """Back to the page with the reason (rendering it here would read the refused form again)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    flash(gettext("file: the upload is larger than %(limit)s bytes", limit=limit), "error")
    return redirect(url_for("modeler.index"), 303)


def _uploaded_bundle(file) -> tuple[Any, int | None]:
    name = file.filename.replace("\\", "/").rsplit("/", 1)[-1]
    data = file.stream.read(MAX_ZIP_BYTES + 1)
    if name.lower().endswith(".zip"):
        return bundle_from_zip(data), None
    if not name.lower().endswith((BPMN_SUFFIX, ".xml")):
        message = gettext("upload a .bpmn diagram or a .zip bundle, not %(name)s", name=name)
        raise drafts.DraftError("file", message)
    if len(data) > MAX_FILE_BYTES:
        raise drafts.DraftError(
            "file",
            gettext("%(name)s is larger than %(limit)s bytes", name=name, limit=MAX_FILE_BYTES),
        )
    stem = _SAFE_NAME.sub("_", name.rsplit(".", 1)[0]).strip("._") or "diagram"
    engine = current_engine()
    base_version = versions.default_version(engine)
    files: dict[str, bytes] = {}
    if base_version is not None:
        with engine.reader() as session:
            base = session.scalar(select(Deployment).where(Deployment.version == base_version))
        files = {path: content for path, content in bundle_from_zip(base.bundle_zip).files.items()}
        replaced = _process_ids(data)
        files = {
            path: content
            for path, content in files.items()
            if not path.endswith(BPMN_SUFFIX)
            or (path != stem + BPMN_SUFFIX and not (replaced & _process_ids(content)))
        }
    files[stem + BPMN_SUFFIX] = data
    return bundle_from_files(files), base_version


def _process_ids(data: bytes) -> set[str]:
    """The process ids a diagram defines (none when it does not parse: validation says why)."""
    return set(re.findall(rb"<(?:\w+:)?process\b[^>]*?\sid=\"([^\"]+)\"", data))


# --------------------------------------------------------------------------- the editor


@bp.get("/drafts/<int:draft_id>")
def editor(draft_id: int):
    draft = _draft_or_404(draft_id)
    return render_template(
        "modeler_editor.html", draft=draft, is_admin=_is_admin(), editor_words=editor_words()
    )


@bp.get("/drafts/<int:draft_id>/bundle.json")
def bundle_json(draft_id: int):
    """Everything the editor page needs: the files as text, the last problems, the names it offers."""
    draft = _draft_or_404(draft_id)
    engine = current_engine()
    files = {path: data.decode("utf-8", "replace") for path, data in draft.bundle.files.items()}
    return jsonify(
        id=draft.id,
        revision=draft.revision,
        status=draft.status,
        editable=draft.editable,
        files=files,
        problems=problem_dicts(draft.problems),
        validators=sorted(engine.handlers.validators),
        operations=sorted(engine.handlers.operations),
        property_names=property_names.as_json(),
    )


@bp.post("/drafts/<int:draft_id>/save")
def save(draft_id: int):
    """JSON ``{"revision": n, "files": {path: text}}``; answers the new revision and every problem."""
    _draft_or_404(draft_id)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), dict):
        return jsonify(error=gettext('files: send a JSON object {"files": {path: text}}')), 400
    files = payload["files"]
    if not all(isinstance(text, str) for text in files.values()):
        return jsonify(error=gettext("files: every file must be text")), 400
    revision = payload.get("revision")
    try:
        draft = drafts.save_draft(
            current_engine(),
            draft_id,
            {path: text.encode("utf-8") for path, text in files.items()},
            actor=current_user.username,
            expected_revision=revision if isinstance(revision, int) else None,
        )
    except Conflict as conflict:
        return jsonify(error=str(conflict)), 409
    except drafts.DraftError as error:
        return jsonify(error=str(error), field=error.field), 400
    stored = {path: data.decode("utf-8", "replace") for path, data in draft.bundle.files.items()}
    return jsonify(
        revision=draft.revision,
        status=draft.status,
        problems=problem_dicts(draft.problems),
        # Deadline timers are labelled from procedure.toml on save: the editor shows what was stored.
        files={path: text for path, text in stored.items() if files.get(path) != text},
        labels=_timer_labels(draft.bundle),
    )


def _timer_labels(bundle) -> list[dict[str, str]]:
    """Every deadline timer's label as stored, for the editor to show without reloading."""
    found = []
    for path, data in bundle.bpmn_files.items():
        try:
            root = parse_bpmn_safely(data, path)
            timers = deadline_timers(path, data)
        except BundleInvalid:
            continue
        for timer in timers:
            element = root.xpath("//*[@id=$id]", id=timer.element_id)[0]
            found.append({"file": path, "element_id": timer.element_id, "name": element.get("name") or ""})
    return found


@bp.get("/drafts/<int:draft_id>/bundle.zip")
def download(draft_id: int):
    draft = _draft_or_404(draft_id)
    return Response(
        draft.bundle.to_zip(),
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=draft-{draft.id}.zip"},
    )


@bp.post("/drafts/<int:draft_id>/submit")
def submit(draft_id: int):
    _draft_or_404(draft_id)
    try:
        drafts.submit_draft(current_engine(), draft_id, actor=current_user.username)
    except BundleInvalid as invalid:
        count = len(invalid.problems)
        flash(gettext("Not submitted: %(count)s problem(s), shown on the diagram.", count=count), "error")
    except EngineError as error:
        flash(str(error), "error")
    else:
        flash(gettext("Submitted: an admin can deploy it now."), "success")
    return redirect(url_for("modeler.editor", draft_id=draft_id))


@bp.post("/drafts/<int:draft_id>/discard")
def discard(draft_id: int):
    """Throw a draft away (not a deployed one: it records where its version came from)."""
    draft = _draft_or_404(draft_id)
    try:
        drafts.discard_draft(current_engine(), draft_id, actor=current_user.username)
    except EngineError as error:
        flash(str(error), "error")
        return redirect(url_for("modeler.editor", draft_id=draft_id))
    flash(gettext("Draft %(id)s discarded: %(title)s", id=draft_id, title=draft.title), "success")
    return redirect(url_for("modeler.index"))


@bp.post("/drafts/<int:draft_id>/forms/rename")
def rename_form(draft_id: int):
    """JSON ``{"revision", "name", "new_name"}``; answers like a save, plus the draft's files."""
    return _form_change(
        draft_id,
        lambda payload, **kwargs: drafts.rename_form(
            current_engine(),
            draft_id,
            str(payload.get("name", "")),
            str(payload.get("new_name", "")),
            **kwargs,
        ),
    )


@bp.post("/drafts/<int:draft_id>/forms/delete")
def delete_form(draft_id: int):
    """JSON ``{"revision", "name"}``; answers like a save, plus the draft's files."""
    return _form_change(
        draft_id,
        lambda payload, **kwargs: drafts.delete_form(
            current_engine(), draft_id, str(payload.get("name", "")), **kwargs
        ),
    )


def _form_change(draft_id: int, change):
    _draft_or_404(draft_id)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error=gettext("name: send a JSON object naming the form"), field="name"), 400
    revision = payload.get("revision")
    expected = revision if isinstance(revision, int) else None
    try:
        draft = change(payload, actor=current_user.username, expected_revision=expected)
    except Conflict as conflict:
        return jsonify(error=str(conflict)), 409
    except drafts.DraftError as error:
        return jsonify(error=str(error), field=error.field), 400
    files = {path: data.decode("utf-8", "replace") for path, data in draft.bundle.files.items()}
    return jsonify(
        revision=draft.revision, status=draft.status, problems=problem_dicts(draft.problems), files=files
    )


@bp.post("/drafts/<int:draft_id>/deploy")
def deploy(draft_id: int):
    if not _is_admin():
        abort(403)
    draft = _draft_or_404(draft_id)
    try:
        outcome = drafts.deploy_draft(current_engine(), draft_id, actor=current_user.username)
    except BundleInvalid as invalid:
        flash(gettext("Not deployed: %(count)s problem(s).", count=len(invalid.problems)), "error")
        return redirect(url_for("modeler.editor", draft_id=draft_id))
    except EngineError as error:
        flash(str(error), "error")
        return redirect(url_for("modeler.editor", draft_id=draft_id))
    if outcome.created:
        message = gettext("Deployed as v%(version)s: new complaints start on it.", version=outcome.version)
        flash(message, "success")
    else:
        flash(gettext("Unchanged: this content is already v%(version)s.", version=outcome.version), "info")
    older = draft.base_version if draft.base_version not in (None, outcome.version) else outcome.version - 1
    if older < 1:
        return redirect(url_for("admin.versions_page"))
    return redirect(url_for("admin.versions_page", **{"from": older, "to": outcome.version}))
