"""Drafts: a bundle being edited, kept whole until an admin deploys it.

A draft stores the complete bundle (diagrams, forms, config) as a zip, like a deployed
version, plus the problems its last validation found. Saving never refuses a bundle for
being *invalid*, only for being *unreadable* (a file too big, a path that does not belong):
an author who breaks an expression keeps everything typed and sees the problem pinned to
its element. Submitting and deploying refuse an invalid bundle; deploying goes through
``ProcessEngine.deploy``, which validates again, so a draft can never bypass validation.

Life of a draft: ``editing`` -> (submit) ``submitted`` -> (deploy) ``deployed``. Saving a
submitted draft takes it back to ``editing``; a deployed draft is read-only (start a new
one from the version it became). Who may do what is the caller's business (web/modeler.py:
process owners and admins edit and submit, admins deploy).

``revision`` counts saves, so that two people saving the same draft cannot overwrite each
other unknowingly: a save names the revision it started from and a stale one is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import audit
from engine.bundle import Bundle, BundleError, bundle_from_files, bundle_from_zip
from engine.errors import Conflict, EngineError, NotFound
from engine.models import Deployment, Draft
from engine.store import Store
from engine.validation import BundleInvalid, Problem

__all__ = [
    "EDITING",
    "SUBMITTED",
    "DEPLOYED",
    "DraftError",
    "DraftView",
    "create_draft",
    "delete_form",
    "deploy_draft",
    "discard_draft",
    "get_draft",
    "list_drafts",
    "rename_form",
    "save_draft",
    "submit_draft",
]

EDITING, SUBMITTED, DEPLOYED = "editing", "submitted", "deployed"
MAX_TITLE = 200
FORMS_DIR = "forms/"
FORM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.json")


class DraftError(EngineError):
    """The request cannot be carried out; ``field`` names what is wrong (title, files, status...)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class DraftView:
    """A draft as callers see it: its row's facts, its bundle and its last problems."""

    id: int
    title: str
    base_version: int | None
    status: str
    revision: int
    bundle: Bundle
    problems: list[Problem] | None
    """None: never validated; []: valid at its last save."""
    created_by: str
    created_at: Any
    updated_by: str
    updated_at: Any
    submitted_by: str | None
    submitted_at: Any
    deployed_version: int | None
    deployed_by: str | None
    deployed_at: Any

    @property
    def editable(self) -> bool:
        return self.status != DEPLOYED


def _view(row: Draft) -> DraftView:
    problems = None
    if row.problems_json is not None:
        problems = [Problem(**item) for item in json.loads(row.problems_json)]
    return DraftView(
        id=row.id,
        title=row.title,
        base_version=row.base_version,
        status=row.status,
        revision=row.revision,
        bundle=bundle_from_zip(row.bundle_zip),
        problems=problems,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        deployed_version=row.deployed_version,
        deployed_by=row.deployed_by,
        deployed_at=row.deployed_at,
    )


def _problems_json(problems: list[Problem]) -> str:
    return json.dumps(
        [
            {"file": p.file, "line": p.line, "element_id": p.element_id, "message": p.message}
            for p in problems
        ],
        ensure_ascii=False,
    )


def _check(engine, bundle: Bundle) -> tuple[Bundle, list[Problem]]:
    """The bundle as it would deploy (deadline timers labelled) and its problems."""
    bundle = engine.label_timers(bundle)
    try:
        engine.validate(bundle)
    except BundleInvalid as invalid:
        return bundle, invalid.problems
    return bundle, []


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise DraftError("title", "give the draft a title (what changes, e.g. 'dispatch in 3 hours')")
    if len(title) > MAX_TITLE:
        raise DraftError("title", f"at most {MAX_TITLE} characters")
    return title


# --------------------------------------------------------------------------- reading


def get_draft(engine, draft_id: int) -> DraftView:
    with engine.reader() as session:
        row = session.get(Draft, draft_id)
        if row is None:
            raise NotFound(f"no draft {draft_id}")
        return _view(row)


def list_drafts(engine) -> list[DraftView]:
    """Every draft, the ones still in play first (submitted, then editing), newest first."""
    order = {SUBMITTED: 0, EDITING: 1, DEPLOYED: 2}
    with engine.reader() as session:
        rows = list(session.scalars(select(Draft).order_by(Draft.updated_at.desc(), Draft.id.desc())))
        views = [_view(row) for row in rows]
    return sorted(views, key=lambda view: order.get(view.status, 3))


# --------------------------------------------------------------------------- writing


def create_draft(
    engine,
    *,
    actor: str,
    title: str,
    base_version: int | None = None,
    bundle: Bundle | None = None,
) -> DraftView:
    """A new draft: a copy of ``base_version`` (the default version when None), or ``bundle``.

    An uploaded ``bundle`` is validated first and refused whole when invalid
    (:class:`BundleInvalid`): an upload that cannot run is not worth keeping.
    """
    title = _clean_title(title)
    now = engine.clock.now()
    problems: list[Problem] = []
    if bundle is not None:
        bundle, problems = _check(engine, bundle)
        if problems:
            raise BundleInvalid(problems)
    with engine.writer() as session, session.begin():
        if bundle is None:
            base = _deployed(session, base_version)
            base_version, bundle = base.version, bundle_from_zip(base.bundle_zip)
        elif base_version is None:
            default = Store(session.connection()).deployment(None)
            base_version = default.version if default is not None else None
        row = Draft(
            title=title,
            base_version=base_version,
            status=EDITING,
            revision=1,
            bundle_zip=bundle.to_zip(),
            content_hash=bundle.content_hash,
            problems_json=_problems_json(problems),
            created_at=now,
            created_by=actor,
            updated_at=now,
            updated_by=actor,
        )
        session.add(row)
        session.flush()
        _audit(session, now, actor, "draft_create", row, base_version=base_version)
        return _view(row)


def save_draft(
    engine,
    draft_id: int,
    files: Mapping[str, bytes],
    *,
    actor: str,
    expected_revision: int | None = None,
) -> DraftView:
    """Replace the draft's files and validate them; the files are kept even when invalid.

    Raises DraftError (nothing saved) when the files cannot form a bundle at all, the draft
    is deployed, or ``expected_revision`` is stale (Conflict).
    """
    try:
        bundle = bundle_from_files(files)
    except BundleError as error:
        raise DraftError("files", str(error)) from error
    if not bundle.files:
        raise DraftError("files", "no diagram, form or procedure.toml was given")
    return _store(engine, draft_id, bundle, actor=actor, expected_revision=expected_revision)


def _store(
    engine,
    draft_id: int,
    bundle: Bundle,
    *,
    actor: str,
    expected_revision: int | None,
    command: str = "draft_save",
    **detail: Any,
) -> DraftView:
    """Validate ``bundle`` and keep it as the draft's new revision, problems and all."""
    bundle, problems = _check(engine, bundle)  # outside the transaction: parsing takes a while
    now = engine.clock.now()
    with engine.writer() as session, session.begin():
        row = _editable(session, draft_id)
        if expected_revision is not None and row.revision != expected_revision:
            raise Conflict(
                f"draft {draft_id} was saved by {row.updated_by} since you opened it "
                f"(revision {row.revision}, yours {expected_revision}): reload it; yours were not saved"
            )
        row.bundle_zip = bundle.to_zip()
        row.content_hash = bundle.content_hash
        row.problems_json = _problems_json(problems)
        row.revision += 1
        row.status = EDITING
        row.submitted_at = row.submitted_by = None
        row.updated_at, row.updated_by = now, actor
        _audit(session, now, actor, command, row, problems=len(problems), **detail)
        return _view(row)


def discard_draft(engine, draft_id: int, *, actor: str) -> None:
    """Delete a draft that was never deployed; the audit log keeps its title and content hash.

    A deployed draft is refused: it is the record of where a version came from.
    """
    now = engine.clock.now()
    with engine.writer() as session, session.begin():
        row = _editable(session, draft_id)
        _audit(session, now, actor, "draft_discard", row, status=row.status, revision=row.revision)
        session.delete(row)


def _form_name(field: str, name: str) -> str:
    name = (name or "").strip()
    if not FORM_NAME.fullmatch(name):
        raise DraftError(field, f"'{name}' is not a form file name: letters, digits, _ . - ending in .json")
    return name


def rename_form(
    engine, draft_id: int, old: str, new: str, *, actor: str, expected_revision: int | None = None
) -> DraftView:
    """Rename ``forms/old`` to ``forms/new``; tasks still naming ``old`` show up as problems."""
    files = _draft_forms(engine, draft_id, _form_name("name", old))
    new = _form_name("new_name", new)
    if FORMS_DIR + new in files:
        raise DraftError("new_name", f"the draft already has a form {new}: choose another name")
    files[FORMS_DIR + new] = files.pop(FORMS_DIR + old)
    return _store(
        engine,
        draft_id,
        bundle_from_files(files),
        actor=actor,
        expected_revision=expected_revision,
        command="draft_form_rename",
        form=old,
        new_name=new,
    )


def delete_form(
    engine, draft_id: int, name: str, *, actor: str, expected_revision: int | None = None
) -> DraftView:
    """Remove ``forms/name``; a task still naming it shows up as a problem pinned to that task."""
    files = _draft_forms(engine, draft_id, _form_name("name", name))
    del files[FORMS_DIR + name]
    return _store(
        engine,
        draft_id,
        bundle_from_files(files),
        actor=actor,
        expected_revision=expected_revision,
        command="draft_form_delete",
        form=name,
    )


def _draft_forms(engine, draft_id: int, name: str) -> dict[str, bytes]:
    files = dict(get_draft(engine, draft_id).bundle.files)
    if FORMS_DIR + name not in files:
        raise DraftError("name", f"the draft has no form {name}")
    return files


def submit_draft(engine, draft_id: int, *, actor: str) -> DraftView:
    """Offer the draft to the admins; refused with every problem (BundleInvalid) when invalid."""
    view = get_draft(engine, draft_id)
    _, problems = _check(engine, view.bundle)
    now = engine.clock.now()
    with engine.writer() as session, session.begin():
        row = _editable(session, draft_id)
        row.problems_json = _problems_json(problems)
        if not problems:
            row.status = SUBMITTED
            row.submitted_at, row.submitted_by = now, actor
            _audit(session, now, actor, "draft_submit", row)
    if problems:
        raise BundleInvalid(problems)
    return get_draft(engine, draft_id)


def deploy_draft(engine, draft_id: int, *, actor: str):
    """Deploy a submitted draft as a new version (``ProcessEngine.deploy`` validates again).

    Returns the engine's DeployOutcome; the draft records the version it became.
    """
    view = get_draft(engine, draft_id)
    if view.status != SUBMITTED:
        raise DraftError("status", f"draft {draft_id} is {view.status}: only a submitted draft is deployed")
    outcome = engine.deploy(view.bundle, actor=actor)
    now = engine.clock.now()
    with engine.writer() as session, session.begin():
        row = session.get(Draft, draft_id, with_for_update=True)
        if row.revision != view.revision:
            raise Conflict(
                f"v{outcome.version} holds draft {draft_id} as it was submitted, but {row.updated_by} "
                f"saved the draft meanwhile: it stays {row.status} with the newer changes"
            )
        row.status = DEPLOYED
        row.deployed_version = outcome.version
        row.deployed_at, row.deployed_by = now, actor
        row.problems_json = _problems_json([])
        _audit(session, now, actor, "draft_deploy", row, version=outcome.version, created=outcome.created)
    return outcome


def _deployed(session, version: int | None) -> Deployment:
    """The deployed ``version``, or the default one (new instances' version) when None."""
    if version is None:
        default = Store(session.connection()).deployment(None)
        if default is None:
            raise DraftError("base_version", "nothing is deployed yet: upload a bundle instead")
        version = default.version
    row = session.scalar(select(Deployment).where(Deployment.version == version))
    if row is None:
        raise DraftError("base_version", f"no deployed version {version}")
    return row


def _editable(session, draft_id: int) -> Draft:
    row = session.get(Draft, draft_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no draft {draft_id}")
    if row.status == DEPLOYED:
        raise DraftError(
            "status", f"draft {draft_id} was deployed as v{row.deployed_version}: start a new draft from it"
        )
    return row


def _audit(session, now, actor: str, command: str, row: Draft, **detail: Any) -> None:
    audit.append(
        Store(session.connection()),
        at=now,
        actor=actor,
        command=command,
        instance_id=None,
        detail={"draft": row.id, "title": row.title, "content_hash": row.content_hash, **detail},
    )
