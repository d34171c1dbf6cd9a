"""Issue 10, item 4 (server side): a version's diagrams as one cached document, the page's marks per path.

The two-file bundle tests/engine/bundles/paths: a map whose ``call_path`` calls a path,
which calls ``inner_process`` (the map calls it too, through ``call_check``).
"""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

from engine.bundle import load_bundle
from engine.models import Deployment
from tests.engine.support import PATHS
from tests.web.support import log_in
from web import accounts


@pytest.fixture
def app(make_app, clock):
    app = make_app(CLOCK=clock)
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(PATHS), actor="owner")
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "sue", "password-1", "Sue", [], ["supervisor"])
        accounts.create_user(session, "otto", "password-1", "Otto", ["elsewhere"], ["agent"])
    return app


def client_of(app, username):
    client = app.test_client()
    log_in(client, username, "password-1")
    return client


def test_the_versions_diagrams_come_in_map_order_with_their_calls_and_xml(app):
    response = client_of(app, "otto").get("/versions/1/diagrams.json")  # any signed-in user
    assert response.status_code == 200
    document = response.get_json()
    assert document["version"] == 1 and document["main"] == "map_process"
    assert [(d["process"], d["file"], d["diagram"]) for d in document["diagrams"]] == [
        ("map_process", "map.bpmn", "diagram_map"),
        ("path_process", "path.bpmn", "diagram_path"),
        ("inner_process", "path.bpmn", "diagram_inner"),
    ]
    assert list(document["diagrams"][0]["calls"].items()) == [
        ("call_path", "path_process"),
        ("call_check", "inner_process"),
    ]
    assert document["diagrams"][1]["calls"] == {"call_inner": "inner_process"}
    assert sorted(document["files"]) == ["map.bpmn", "path.bpmn"]
    assert 'id="task_handle"' in document["files"]["path.bpmn"]


def test_a_version_is_cached_for_good_and_revalidates_with_its_content_hash(app):
    client = client_of(app, "sue")
    first = client.get("/versions/1/diagrams.json")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    with app.extensions["process_engine"].reader() as session:
        assert session.get(Deployment, 1).content_hash in etag
    again = client.get("/versions/1/diagrams.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    stale = client.get("/versions/1/diagrams.json", headers={"If-None-Match": '"diagrams/v1:other"'})
    assert stale.status_code == 200 and stale.data == first.data


def test_unknown_versions_are_404_and_strangers_are_sent_to_log_in(app):
    assert client_of(app, "sue").get("/versions/99/diagrams.json").status_code == 404
    anonymous = app.test_client().get("/versions/1/diagrams.json")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def _viewer_of(page_html: str) -> dict:
    found = re.search(r'id="diagram-viewer" data-viewer="([^"]*)"', page_html)
    assert found, "the page has no diagram viewer"
    return json.loads(html.unescape(found.group(1)))


def test_the_page_opens_the_map_with_the_current_path_and_the_marks_of_each_path(app):
    engine = app.extensions["process_engine"]
    started = engine.start(actor="clerk")
    [receive] = started.opened_task_ids
    engine.complete_task(receive, actor="clerk", data={})
    viewer = _viewer_of(client_of(app, "sue").get(f"/instances/{started.instance_id}").get_data(as_text=True))
    assert viewer["diagramsUrl"] == "/versions/1/diagrams.json"
    assert viewer["start"] == [] and viewer["currentPath"] == ["call_path"]
    scopes = {tuple(scope["scope"]): scope for scope in viewer["scopes"]}
    assert scopes[()]["process"] == "map_process"
    assert "call_path" in scopes[()]["current"] and scopes[()]["focus"] == ["call_path"]
    assert "task_receive" in scopes[()]["completed"]
    assert scopes[("call_path",)]["focus"] == ["task_handle"]


def test_a_complaint_on_an_older_version_is_drawn_on_its_own_versions_diagrams(app, tmp_path):
    engine = app.extensions["process_engine"]
    instance_id = engine.start(actor="clerk").instance_id
    renamed = tmp_path / "paths"
    shutil.copytree(PATHS, renamed)
    path = renamed / "path.bpmn"
    path.write_text(path.read_text().replace('name="Handle the request"', 'name="Handle it"'))
    assert engine.deploy(load_bundle(renamed), actor="owner").version == 2
    viewer = _viewer_of(client_of(app, "sue").get(f"/instances/{instance_id}").get_data(as_text=True))
    assert viewer["diagramsUrl"] == "/versions/1/diagrams.json"
    newer = client_of(app, "sue").get("/versions/2/diagrams.json").get_json()
    assert 'name="Handle it"' in newer["files"]["path.bpmn"]


def test_the_heat_map_opens_the_default_versions_diagrams(procedure_app):
    page = client_of(procedure_app, "sue").get("/reports").get_data(as_text=True)
    found = re.search(r'id="heat-diagram-viewer" data-viewer="([^"]*)"', page)
    assert found
    viewer = json.loads(html.unescape(found.group(1)))
    assert viewer["diagramsUrl"] == "/versions/1/diagrams.json"
    assert isinstance(viewer["heat"], dict)
    assert 'class="diagram-picker"' in page and 'aria-label="Zoom in"' in page
