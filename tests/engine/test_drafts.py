"""Drafts (engine.drafts): kept whole even when invalid, submitted only when valid, deployed once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import drafts
from engine.bundle import MAX_FILE_BYTES
from engine.errors import Conflict, NotFound
from engine.models import AuditEvent, Deployment
from engine.validation import BundleInvalid
from tests.engine.support import engine_test_handlers, valid_bundle

TIMER = '"PT2H"'


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="admin")
    return engine


def edited(bundle, path: str, old: str, new: str) -> dict[str, bytes]:
    files = dict(bundle.files)
    text = files[path].decode()
    assert old in text, f"{old!r} not in {path}"
    files[path] = text.replace(old, new).encode()
    return files


def test_a_new_draft_copies_the_default_version(engine):
    draft = drafts.create_draft(engine, actor="owner", title="Approvals within 4 hours")
    assert draft.base_version == 1 and draft.status == drafts.EDITING and draft.revision == 1
    assert draft.bundle == valid_bundle()
    assert draft.problems == []


def test_an_invalid_save_keeps_every_file_and_names_the_element(engine):
    draft = drafts.create_draft(engine, actor="owner", title="broken")
    files = edited(draft.bundle, "main.bpmn", TIMER, '"PT2H" +')
    files["forms/enter.json"] = files["forms/enter.json"].replace(b'"amount"', b'"amount_eur"', 1)
    saved = drafts.save_draft(engine, draft.id, files, actor="owner", expected_revision=1)
    assert saved.revision == 2
    assert dict(saved.bundle.files) == files  # nothing typed is lost
    assert [p.element_id for p in saved.problems if p.file == "main.bpmn"][:1] == ["timer_approve_deadline"]
    with pytest.raises(BundleInvalid) as refused:
        drafts.submit_draft(engine, draft.id, actor="owner")
    assert any(p.element_id == "timer_approve_deadline" for p in refused.value.problems)
    assert drafts.get_draft(engine, draft.id).status == drafts.EDITING


def test_an_unreadable_save_is_refused_and_the_draft_is_unchanged(engine):
    draft = drafts.create_draft(engine, actor="owner", title="too big")
    files = dict(draft.bundle.files)
    files["forms/huge.json"] = b" " * (MAX_FILE_BYTES + 1)
    with pytest.raises(drafts.DraftError) as refused:
        drafts.save_draft(engine, draft.id, files, actor="owner")
    assert refused.value.field == "files" and "forms/huge.json" in str(refused.value)
    after = drafts.get_draft(engine, draft.id)
    assert after.revision == 1 and after.bundle == draft.bundle


def test_a_stale_save_is_a_conflict_and_loses_nothing_saved(engine):
    draft = drafts.create_draft(engine, actor="owner", title="two editors")
    first = drafts.save_draft(
        engine, draft.id, edited(draft.bundle, "main.bpmn", TIMER, '"PT3H"'), actor="ann", expected_revision=1
    )
    with pytest.raises(Conflict, match="saved by ann"):
        drafts.save_draft(
            engine,
            draft.id,
            edited(draft.bundle, "main.bpmn", TIMER, '"PT5H"'),
            actor="bob",
            expected_revision=1,
        )
    assert drafts.get_draft(engine, draft.id).bundle == first.bundle


def test_submit_then_deploy_makes_a_new_version_and_records_it(engine):
    draft = drafts.create_draft(engine, actor="owner", title="4 hours")
    drafts.save_draft(engine, draft.id, edited(draft.bundle, "main.bpmn", TIMER, '"PT4H"'), actor="owner")
    with pytest.raises(drafts.DraftError, match="only a submitted draft"):
        drafts.deploy_draft(engine, draft.id, actor="admin")
    submitted = drafts.submit_draft(engine, draft.id, actor="owner")
    assert submitted.status == drafts.SUBMITTED and submitted.submitted_by == "owner"
    outcome = drafts.deploy_draft(engine, draft.id, actor="admin")
    assert outcome.version == 2 and outcome.created
    deployed = drafts.get_draft(engine, draft.id)
    assert (deployed.status, deployed.deployed_version, deployed.deployed_by) == ("deployed", 2, "admin")
    with engine.reader() as session:
        stored = session.scalar(select(Deployment).where(Deployment.version == 2))
        assert stored.content_hash == deployed.bundle.content_hash
        commands = list(session.scalars(select(AuditEvent.command).order_by(AuditEvent.id)))
    assert commands[-4:] == ["draft_save", "draft_submit", "deploy", "draft_deploy"]
    with pytest.raises(drafts.DraftError, match="was deployed as v2"):
        drafts.save_draft(engine, draft.id, dict(deployed.bundle.files), actor="owner")


def test_saving_a_submitted_draft_takes_it_back_to_editing(engine):
    draft = drafts.create_draft(engine, actor="owner", title="again")
    drafts.submit_draft(engine, draft.id, actor="owner")
    files = edited(draft.bundle, "main.bpmn", TIMER, '"PT1H"')
    saved = drafts.save_draft(engine, draft.id, files, actor="owner")
    assert saved.status == drafts.EDITING and saved.submitted_by is None


def test_an_invalid_uploaded_bundle_is_not_stored(engine):
    broken = edited(valid_bundle(), "main.bpmn", TIMER, "PT2H")  # unquoted: not a string expression
    from engine.bundle import bundle_from_files

    with pytest.raises(BundleInvalid):
        drafts.create_draft(engine, actor="owner", title="upload", bundle=bundle_from_files(broken))
    assert drafts.list_drafts(engine) == []


def test_unknown_draft_and_missing_title(engine):
    with pytest.raises(NotFound):
        drafts.get_draft(engine, 999)
    with pytest.raises(drafts.DraftError) as refused:
        drafts.create_draft(engine, actor="owner", title="  ")
    assert refused.value.field == "title"
    with pytest.raises(drafts.DraftError, match="no deployed version 7"):
        drafts.create_draft(engine, actor="owner", title="x", base_version=7)


def test_a_save_during_deployment_keeps_the_newer_draft_and_says_which_content_was_deployed(engine):
    draft = drafts.create_draft(engine, actor="owner", title="race")
    drafts.submit_draft(engine, draft.id, actor="owner")
    newer = edited(draft.bundle, "main.bpmn", TIMER, '"PT6H"')
    deploy = engine.deploy

    def deploy_while_the_owner_saves(bundle, *, actor):
        outcome = deploy(bundle, actor=actor)
        drafts.save_draft(engine, draft.id, newer, actor="owner")
        return outcome

    engine.deploy = deploy_while_the_owner_saves
    with pytest.raises(Conflict, match="v1 holds draft .* as it was submitted, but owner saved"):
        drafts.deploy_draft(engine, draft.id, actor="admin")
    after = drafts.get_draft(engine, draft.id)
    assert after.status == drafts.EDITING and dict(after.bundle.files) == newer
