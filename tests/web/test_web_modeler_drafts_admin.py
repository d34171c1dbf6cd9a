"""Discarding a draft and renaming or deleting its forms, through the web as modeler.js calls them.

Rule ids: the form review_dispatch.json belongs to L1/L2's review-and-dispatch task
(task_review_dispatch); renaming it away must leave that task with a pinned problem.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine import drafts
from engine.models import AuditEvent, Draft
from tests.web.support import csrf_token
from tests.web.test_web_modeler import app, editor_token, files_of, new_draft, person, save

__all__ = ["app"]  # the fixture, imported for pytest

REVIEW = "review_dispatch.json"
REVIEW_TASK = "task_review_dispatch"


def audited(app, command: str) -> list[dict]:
    with app.extensions["process_engine"].reader() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.command == command)).all()
        return [json.loads(row.detail) for row in rows]


def draft_exists(app, draft_id: int) -> bool:
    with app.extensions["process_engine"].reader() as session:
        return session.get(Draft, draft_id) is not None


def form_call(client, draft_id: int, action: str, body: dict, token: str | None = None):
    token = token or editor_token(client, draft_id)
    return client.post(
        f"/modeler/drafts/{draft_id}/forms/{action}", json=body, headers={"X-CSRFToken": token}
    )


# --------------------------------------------------------------------------- discard


def test_a_process_owner_discards_a_draft_and_the_audit_log_keeps_its_title_and_hash(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner, title="L2 in 3 hours")
    page = owner.get(f"/modeler/drafts/{draft_id}").get_data(as_text=True)
    assert 'id="discard-form"' in page
    response = owner.post(
        f"/modeler/drafts/{draft_id}/discard", data={"csrf_token": editor_token(owner, draft_id)}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/modeler")
    assert not draft_exists(app, draft_id)
    assert owner.get(f"/modeler/drafts/{draft_id}").status_code == 404
    assert f"Draft {draft_id} discarded: L2 in 3 hours" in owner.get("/modeler").get_data(as_text=True)
    (entry,) = audited(app, "draft_discard")
    assert entry["draft"] == draft_id and entry["title"] == "L2 in 3 hours" and entry["content_hash"]


def test_a_deployed_draft_cannot_be_discarded(app):
    owner, admin = person(app, "owner"), person(app, "admin")
    draft_id = new_draft(owner)
    files = files_of(owner, draft_id)["files"]
    files["procedure.toml"] = files["procedure.toml"].replace('ordinary = "PT2H"', 'ordinary = "PT3H"', 1)
    assert save(owner, draft_id, files).status_code == 200
    owner.post(f"/modeler/drafts/{draft_id}/submit", data={"csrf_token": editor_token(owner, draft_id)})
    admin.post(f"/modeler/drafts/{draft_id}/deploy", data={"csrf_token": editor_token(admin, draft_id)})
    assert drafts.get_draft(app.extensions["process_engine"], draft_id).status == "deployed"
    assert 'id="discard-form"' not in owner.get(f"/modeler/drafts/{draft_id}").get_data(as_text=True)
    token = csrf_token(owner, "/modeler")
    response = owner.post(f"/modeler/drafts/{draft_id}/discard", data={"csrf_token": token})
    assert response.status_code == 302
    assert "was deployed as v2" in owner.get(response.headers["Location"]).get_data(as_text=True)
    assert draft_exists(app, draft_id) and audited(app, "draft_discard") == []


@pytest.mark.parametrize("username", ["intake", "dispatcher", "supervisor"])
def test_agents_may_not_discard_or_change_forms(app, username):
    draft_id = new_draft(person(app, "owner"))
    client = person(app, username)
    token = csrf_token(client, "/inbox")  # a valid token of theirs: the role is what refuses
    assert client.post(f"/modeler/drafts/{draft_id}/discard", data={"csrf_token": token}).status_code == 403
    assert form_call(client, draft_id, "delete", {"name": REVIEW}, token=token).status_code == 403
    assert (
        form_call(client, draft_id, "rename", {"name": REVIEW, "new_name": "x.json"}, token=token).status_code
        == 403
    )
    assert draft_exists(app, draft_id)
    assert REVIEW in " ".join(files_of(person(app, "owner"), draft_id)["files"])


def test_discard_and_form_changes_without_the_csrf_token_are_refused(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    assert owner.post(f"/modeler/drafts/{draft_id}/discard", data={}).status_code == 400
    response = owner.post(f"/modeler/drafts/{draft_id}/forms/delete", json={"name": REVIEW})
    assert response.status_code == 400
    assert draft_exists(app, draft_id) and "forms/" + REVIEW in files_of(owner, draft_id)["files"]


# --------------------------------------------------------------------------- forms


def test_renaming_a_form_a_task_uses_pins_a_problem_to_that_task_and_renaming_back_clears_it(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    before = files_of(owner, draft_id)
    response = form_call(
        owner,
        draft_id,
        "rename",
        {"revision": before["revision"], "name": REVIEW, "new_name": "review_and_dispatch.json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert "forms/review_and_dispatch.json" in answer["files"] and "forms/" + REVIEW not in answer["files"]
    assert answer["files"]["forms/review_and_dispatch.json"] == before["files"]["forms/" + REVIEW]
    assert answer["revision"] == before["revision"] + 1
    pinned = [p for p in answer["problems"] if p["element_id"] == REVIEW_TASK]
    assert pinned and REVIEW in pinned[0]["message"] and pinned[0]["file"] == "review_dispatch.bpmn"
    assert files_of(owner, draft_id)["problems"] == answer["problems"]  # kept with the draft
    (entry,) = audited(app, "draft_form_rename")
    assert entry["form"] == REVIEW and entry["new_name"] == "review_and_dispatch.json"

    back = form_call(
        owner,
        draft_id,
        "rename",
        {"revision": answer["revision"], "name": "review_and_dispatch.json", "new_name": REVIEW},
    )
    assert back.status_code == 200 and back.get_json()["problems"] == []


def test_deleting_a_form_a_task_uses_pins_a_problem_to_that_task(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    response = form_call(owner, draft_id, "delete", {"name": REVIEW})
    assert response.status_code == 200
    answer = response.get_json()
    assert "forms/" + REVIEW not in answer["files"]
    assert [p["element_id"] for p in answer["problems"]] == [REVIEW_TASK]
    assert audited(app, "draft_form_delete")[0]["form"] == REVIEW


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"name": REVIEW, "new_name": "handle_order.json"},
            "new_name",
            "already has a form handle_order.json",
        ),
        ({"name": REVIEW, "new_name": "../escape.json"}, "new_name", "is not a form file name"),
        ({"name": REVIEW, "new_name": "review dispatch.json"}, "new_name", "is not a form file name"),
        ({"name": REVIEW, "new_name": "review.txt"}, "new_name", "is not a form file name"),
        ({"name": "nowhere.json", "new_name": "x.json"}, "name", "has no form nowhere.json"),
    ],
)
def test_a_refused_rename_names_the_field_and_changes_nothing(app, body, field, words):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    before = files_of(owner, draft_id)
    response = form_call(owner, draft_id, "rename", body)
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["field"] == field and answer["error"].startswith(field + ":") and words in answer["error"]
    after = files_of(owner, draft_id)
    assert after["files"] == before["files"] and after["revision"] == before["revision"]


def test_a_form_change_from_a_stale_editor_is_refused_with_409(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    revision = files_of(owner, draft_id)["revision"]
    files = files_of(owner, draft_id)["files"]
    assert save(owner, draft_id, files, revision=revision).status_code == 200
    response = form_call(owner, draft_id, "delete", {"revision": revision, "name": REVIEW})
    assert response.status_code == 409
    assert "forms/" + REVIEW in files_of(owner, draft_id)["files"]
