"""The modeler's drafts through the web: who may do what, save keeps everything, submit, deploy.

The real procedure (bpmn/) is deployed; drafts start as copies of it. The diagram's own
editing happens in the browser (tests/browser/test_browser_modeler.py); here the page's
JSON calls are made directly, as modeler.js makes them.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine import drafts
from engine.models import Deployment, Draft
from tests.web.support import client_of, csrf_token
from web import accounts

TIMER = "timer_dispatch_overdue"
DATA_CSRF = re.compile(r'data-csrf="([^"]+)"')
FORM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(procedure_app):
    with procedure_app.extensions["process_engine"].writer() as session, session.begin():
        accounts.ensure_demo_users(session)
    return procedure_app


def person(app, username):
    return client_of(app, username, accounts.DEMO_PASSWORD)


def new_draft(client, title="L2 in 3 hours") -> int:
    page = client.get("/modeler")
    token = FORM_CSRF.search(page.get_data(as_text=True)).group(1)
    response = client.post("/modeler/drafts", data={"title": title, "base_version": "1", "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def editor_token(client, draft_id: int) -> str:
    return DATA_CSRF.search(client.get(f"/modeler/drafts/{draft_id}").get_data(as_text=True)).group(1)


def files_of(client, draft_id: int) -> dict:
    return client.get(f"/modeler/drafts/{draft_id}/bundle.json").get_json()


def save(client, draft_id: int, files: dict, revision=None, token=None):
    token = token or editor_token(client, draft_id)
    return client.post(
        f"/modeler/drafts/{draft_id}/save",
        json={"revision": revision, "files": files},
        headers={"X-CSRFToken": token},
    )


def with_timer(files: dict, expression: str) -> dict:
    changed = dict(files)
    old = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">dispatch_due</bpmn:timeDate>'
    assert old in changed["review_dispatch.bpmn"]  # L2's timer, on the review and dispatch path
    changed["review_dispatch.bpmn"] = changed["review_dispatch.bpmn"].replace(
        old, f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDate>'
    )
    return changed


def with_dispatch(files: dict, duration: str) -> dict:
    changed = dict(files)
    changed["procedure.toml"] = changed["procedure.toml"].replace(
        'ordinary = "PT2H"', f'ordinary = "{duration}"', 1
    )
    return changed


def draft_count(app) -> int:
    with app.extensions["process_engine"].reader() as session:
        return session.scalar(select(func.count()).select_from(Draft))


# --------------------------------------------------------------------------- who may


@pytest.mark.parametrize("username", ["intake", "dispatcher", "supervisor"])
def test_agents_and_supervisors_are_refused_every_modeler_route(app, username):
    draft_id = new_draft(person(app, "owner"))
    client = person(app, username)
    for path in (
        "/modeler",
        f"/modeler/drafts/{draft_id}",
        f"/modeler/drafts/{draft_id}/bundle.json",
        f"/modeler/drafts/{draft_id}/bundle.zip",
    ):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/inbox")  # a valid token of theirs: the role is what refuses
    for path in (
        "/modeler/drafts",
        "/modeler/upload",
        f"/modeler/drafts/{draft_id}/save",
        f"/modeler/drafts/{draft_id}/submit",
        f"/modeler/drafts/{draft_id}/deploy",
    ):
        response = client.post(
            path, data={"csrf_token": token, "title": "mine"}, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 403, path
    assert (
        draft_count(app) == 1
        and drafts.get_draft(app.extensions["process_engine"], draft_id).status == "editing"
    )
    assert "Modeler" not in client.get("/inbox").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(app):
    response = app.test_client().get("/modeler")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_process_owner_may_not_deploy(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    token = editor_token(owner, draft_id)
    owner.post(f"/modeler/drafts/{draft_id}/submit", data={"csrf_token": token})
    assert owner.post(f"/modeler/drafts/{draft_id}/deploy", data={"csrf_token": token}).status_code == 403
    assert drafts.get_draft(app.extensions["process_engine"], draft_id).status == "submitted"


def test_save_without_the_csrf_token_is_refused(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    files = files_of(owner, draft_id)["files"]
    response = owner.post(f"/modeler/drafts/{draft_id}/save", json={"files": with_dispatch(files, "PT3H")})
    assert response.status_code == 400
    assert 'ordinary = "PT2H"' in files_of(owner, draft_id)["files"]["procedure.toml"]


def test_the_editor_gets_the_property_names_from_the_server(app):
    """modeler.js spells no property name: it reads engine/property_names.py through bundle.json."""
    owner = person(app, "owner")
    names = files_of(owner, new_draft(owner))["property_names"]
    assert (names["FORM"], names["CLOCK"], names["FIGURE"], names["STOPS_CLOCK"]) == (
        "formJsonSchemaFilename",
        "clock",
        "figure",
        "stops_clock",
    )
    assert names["MODELER_EDITED"] == ["formJsonSchemaFilename", "validator", "clock", "figure"]


# --------------------------------------------------------------------------- saving


def test_a_broken_expression_is_saved_and_pinned_to_its_element(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    loaded = files_of(owner, draft_id)
    assert (
        loaded["revision"] == 1
        and loaded["problems"] == []
        and "set_dispatch_deadline" in loaded["operations"]
    )
    files = with_timer(with_dispatch(loaded["files"], "PT3H"), "dispatch_due +")
    response = save(owner, draft_id, files, revision=1)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["revision"] == 2
    [problem] = answer["problems"]
    assert (problem["file"], problem["element_id"]) == ("review_dispatch.bpmn", TIMER)
    assert "not valid Python" in problem["message"] and problem["line"]
    kept = files_of(owner, draft_id)
    # nothing typed is lost; only the L2 timer's label follows the new figure (issue 10)
    typed = dict(kept["files"])
    typed["review_dispatch.bpmn"] = typed["review_dispatch.bpmn"].replace(
        'name="L2 3小时，紧急30分钟 3 h, urgent 30 min"', 'name="L2 2小时，紧急30分钟 2 h, urgent 30 min"'
    )
    assert typed == files and kept["problems"] == answer["problems"]
    assert answer["files"] == {"review_dispatch.bpmn": kept["files"]["review_dispatch.bpmn"]}
    label = {
        "file": "review_dispatch.bpmn",
        "element_id": TIMER,
        "name": "L2 3小时，紧急30分钟 3 h, urgent 30 min",
    }
    assert label in answer["labels"]


def test_a_stale_save_is_refused_with_409_and_the_newer_save_kept(app):
    owner, admin = person(app, "owner"), person(app, "admin")
    draft_id = new_draft(owner)
    files = files_of(owner, draft_id)["files"]
    assert save(admin, draft_id, with_dispatch(files, "PT4H"), revision=1).status_code == 200
    response = save(owner, draft_id, with_dispatch(files, "PT3H"), revision=1)
    assert response.status_code == 409 and "saved by admin" in response.get_json()["error"]
    assert 'ordinary = "PT4H"' in files_of(owner, draft_id)["files"]["procedure.toml"]


def test_a_save_that_is_not_a_bundle_is_refused_naming_the_field(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    token = editor_token(owner, draft_id)
    response = owner.post(f"/modeler/drafts/{draft_id}/save", data="nonsense", headers={"X-CSRFToken": token})
    assert response.status_code == 400 and response.get_json()["error"].startswith("files:")
    huge = {"complaint.bpmn": "x" * (5 * 1024 * 1024 + 1)}
    response = save(owner, draft_id, huge, token=token)
    assert response.status_code == 400 and "complaint.bpmn" in response.get_json()["error"]
    assert files_of(owner, draft_id)["revision"] == 1


# --------------------------------------------------------------------------- submit and deploy


def test_submit_refuses_an_invalid_draft_then_the_admin_deploys_the_fixed_one(app):
    engine = app.extensions["process_engine"]
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    files = with_dispatch(files_of(owner, draft_id)["files"], "PT3H")
    token = editor_token(owner, draft_id)
    save(owner, draft_id, with_timer(files, "dispatch_due +"), token=token)
    refused = owner.post(
        f"/modeler/drafts/{draft_id}/submit", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Not submitted: 1 problem(s)" in refused.get_data(as_text=True)
    assert drafts.get_draft(engine, draft_id).status == "editing"

    assert save(owner, draft_id, files, token=token).get_json()["problems"] == []
    owner.post(f"/modeler/drafts/{draft_id}/submit", data={"csrf_token": token})
    assert drafts.get_draft(engine, draft_id).status == "submitted"

    admin = person(app, "admin")
    listing = admin.get("/modeler").get_data(as_text=True)
    assert f'action="/modeler/drafts/{draft_id}/deploy"' in listing
    token = FORM_CSRF.search(listing).group(1)
    response = admin.post(f"/modeler/drafts/{draft_id}/deploy", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/admin/versions?from=1&to=2"
    )
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Deployed as v2" in page
        and "dispatch_deadlines.ordinary: &#39;PT2H&#39; -&gt; &#39;PT3H&#39;" in page
    )
    assert 'href="/admin/versions?from=1&amp;to=2#diff-elements">against v1</a>' in page
    with engine.reader() as session:
        assert session.scalar(select(func.max(Deployment.version))) == 2
    assert drafts.get_draft(engine, draft_id).deployed_version == 2
    # A deployed draft is read-only.
    response = save(owner, draft_id, files)
    assert response.status_code == 400 and "deployed as v2" in response.get_json()["error"]


def test_the_draft_downloads_as_the_zip_the_engine_would_deploy(app):
    from engine.bundle import bundle_from_zip

    owner = person(app, "owner")
    draft_id = new_draft(owner)
    response = owner.get(f"/modeler/drafts/{draft_id}/bundle.zip")
    assert response.mimetype == "application/zip"
    assert (
        bundle_from_zip(response.data) == drafts.get_draft(app.extensions["process_engine"], draft_id).bundle
    )


def test_a_draft_needs_a_title(app):
    owner = person(app, "owner")
    token = FORM_CSRF.search(owner.get("/modeler").get_data(as_text=True)).group(1)
    page = owner.post("/modeler/drafts", data={"title": " ", "csrf_token": token}, follow_redirects=True)
    assert "title: give the draft a title" in page.get_data(as_text=True)
    assert draft_count(app) == 0


# --------------------------------------------------------------------------- the page and the CLI


def test_the_editor_page_serves_bpmn_js_from_the_app_itself(app):
    owner = person(app, "owner")
    draft_id = new_draft(owner)
    page = owner.get(f"/modeler/drafts/{draft_id}").get_data(as_text=True)
    assert 'src="/static/vendor/bpmn-js/bpmn-modeler.production.min.js"' in page
    assert "//cdn" not in page and "unpkg" not in page
    assert owner.get("/static/vendor/bpmn-js/bpmn-modeler.production.min.js").status_code == 200
    owner.get("/language/zh")
    assert "保存并校验" in owner.get(f"/modeler/drafts/{draft_id}").get_data(as_text=True)


def test_complaints_deploy_draft_and_drafts(app, run):
    engine = app.extensions["process_engine"]
    draft = drafts.create_draft(engine, actor="owner", title="L2 in 3 hours")
    files = {path: data.decode() for path, data in draft.bundle.files.items()}
    drafts.save_draft(
        engine, draft.id, {p: t.encode() for p, t in with_dispatch(files, "PT3H").items()}, actor="owner"
    )

    result = run("deploy", "--draft", str(draft.id))
    assert result.exit_code == 1 and "only a submitted draft is deployed" in result.output
    drafts.submit_draft(engine, draft.id, actor="owner")
    listed = run("drafts")
    assert f"#{draft.id}  submitted  from v1  problems 0  saved by owner  L2 in 3 hours" in listed.output
    result = run("deploy", "--draft", str(draft.id), "--actor", "ada")
    assert result.exit_code == 0 and "deployed as version 2" in result.output
    assert f"#{draft.id}  deployed -> v2" in run("drafts").output
    assert run("deploy").exit_code == 1 and "give either PATH or --draft ID" in run("deploy").output
    assert "no draft 99" in run("deploy", "--draft", "99").output
