"""``/admin/migration``: build a migration plan, dry-run it, move instances in the background, revert.

The page proposes a plan (elements with the same id map to themselves; others by name)
and lets the admin edit the rows that do not match by id; the plan is checked before the
dry run. Applying starts an ``engine.migration_runs`` run in a thread and shows its
progress (``/admin/migration/runs/<id>``, polled as JSON); a run that died with the
server is resumed from the same page; a whole run can be reverted. Every move and
revert is audited by the engine.
"""

from __future__ import annotations

import threading

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from engine import migration_apply, migration_runs, versions
from engine.errors import EngineError, InvalidInput
from engine.migration_plan import elements
from web.admin import _version_arg, bp
from web.engine_access import current_engine
from web.migration_words import blocker_sentence, kind_word, plan_problem_sentence, reason_sentence

MAP_PREFIX = "map."


def _mapping_from_form() -> dict[str, str]:
    return {
        name[len(MAP_PREFIX) :]: value.strip()
        for name, value in request.form.items()
        if name.startswith(MAP_PREFIX) and value.strip()
    }


def _plan_view(engine, older: int, newer: int, mapping: dict[str, str] | None):
    """The rows the admin decides (those not matched by id) with the target choices of their kind."""
    source, target = migration_apply.versions_of(engine, older, newer)
    rows = migration_apply.plan_rows(engine, older, newer)
    by_id = sum(1 for row in rows if row.how == "id")
    undecided = [row for row in rows if row.how != "id"]
    targets, sources = elements(target.specs), elements(source.specs)
    unmatched_targets = sorted(
        (element for element in targets.values() if element.element_id not in sources),
        key=lambda element: element.element_id,
    )
    chosen = mapping if mapping is not None else migration_apply.proposed_mapping(rows)
    return {"by_id": by_id, "rows": undecided, "targets": unmatched_targets, "chosen": chosen}


@bp.route("/migration", methods=["GET", "POST"])
def migration_page():
    engine = current_engine()
    older, newer = _version_arg("from"), _version_arg("to")
    report, error, problems, plan, mapping = None, None, {}, None, None
    if request.method == "POST":
        if older is None or newer is None or request.form.get("action") != "dry-run":
            abort(400)
        mapping = _mapping_from_form()
    if older is not None and newer is not None:
        try:
            plan = _plan_view(engine, older, newer, mapping)
            report = migration_apply.dry_run(engine, older, newer, mapping=plan["chosen"])
        except InvalidInput as refused:
            problems = {
                name[len(MAP_PREFIX) :]: plan_problem_sentence(code)
                for name, code in refused.field_errors.items()
            }
        except EngineError as failure:
            error = str(failure)
    return render_template(
        "admin/migration.html",
        versions=versions.list_versions(engine),
        runs=migration_runs.recent_runs(engine),
        report=report,
        error=error,
        problems=problems,
        plan=plan,
        older=older,
        newer=newer,
        blocker_sentence=blocker_sentence,
        reason_sentence=reason_sentence,
        kind_word=kind_word,
    )


@bp.post("/migration/runs")
def migration_start():
    engine = current_engine()
    older, newer = _version_arg("from"), _version_arg("to")
    if older is None or newer is None:
        abort(400)
    try:
        run_id = migration_runs.start_run(
            engine, older, newer, actor=current_user.username, mapping=_mapping_from_form()
        )
    except EngineError:
        abort(400)
    _in_background(run_id)
    return redirect(url_for("admin.migration_run_page", run_id=run_id))


@bp.get("/migration/runs/<int:run_id>")
def migration_run_page(run_id: int):
    return render_template(
        "admin/migration_run.html",
        run=_progress_or_404(run_id),
        alive=_alive(run_id),
        report=None,
        reason_sentence=reason_sentence,
    )


@bp.get("/migration/runs/<int:run_id>.json")
def migration_run_progress(run_id: int):
    run = _progress_or_404(run_id)
    return jsonify(
        status=run.status,
        total=run.total,
        done=run.done,
        moved=run.moved,
        blocked=run.blocked,
        skipped=run.skipped,
        percent=run.percent,
    )


@bp.post("/migration/runs/<int:run_id>/resume")
def migration_resume(run_id: int):
    run = _progress_or_404(run_id)
    if run.status != "done" and not _alive(run_id):
        _in_background(run_id)
    return redirect(url_for("admin.migration_run_page", run_id=run_id))


@bp.post("/migration/runs/<int:run_id>/revert")
def migration_revert(run_id: int):
    _progress_or_404(run_id)
    report = migration_runs.revert_run(current_engine(), run_id, actor=current_user.username)
    return render_template(
        "admin/migration_run.html",
        run=_progress_or_404(run_id),
        alive=False,
        report=report,
        reason_sentence=reason_sentence,
    )


def _progress_or_404(run_id: int):
    try:
        return migration_runs.progress(current_engine(), run_id)
    except EngineError:
        abort(404)


def _threads() -> dict[int, threading.Thread]:
    return current_app.extensions.setdefault("migration_threads", {})


def _alive(run_id: int) -> bool:
    thread = _threads().get(run_id)
    return thread is not None and thread.is_alive()


def _in_background(run_id: int) -> None:
    """Run the batch in a thread of this process; its progress lives in the database."""
    engine = current_engine()
    thread = threading.Thread(
        target=migration_runs.run, args=(engine, run_id), name=f"migration-run-{run_id}", daemon=True
    )
    _threads()[run_id] = thread
    thread.start()
