"""The complaint page: who may see it, its deadlines and history, its diagram."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.bundle import load_bundle
from tests.web.support import log_in
from web import accounts
from web.diagrams import version_diagrams

BUNDLE = Path(__file__).with_name("bundles") / "forms"


@pytest.fixture
def app(make_app, clock):
    app = make_app(CLOCK=clock)
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(BUNDLE), actor="owner")
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "clara", "password-1", "Clara", ["clerks"], ["agent"])
        accounts.create_user(session, "otto", "password-1", "Otto", ["elsewhere"], ["agent"])
        accounts.create_user(session, "sue", "password-1", "Sue", [], ["supervisor"])
    return app


def client_of(app, username):
    client = app.test_client()
    log_in(client, username, "password-1")
    return client


@pytest.fixture
def instance_id(app):
    engine = app.extensions["process_engine"]
    result = engine.start(actor="clara", business_key="TS-0007")
    [task_id] = result.opened_task_ids
    engine.complete_task(
        task_id,
        actor="clara",
        data={"summary": "No signal", "channel": "phone", "kinds": ["major"], "amount": 1},
    )
    return result.instance_id


def test_people_who_worked_on_it_and_supervisors_see_it(app, instance_id):
    for username in ("clara", "sue"):
        page = client_of(app, username).get(f"/instances/{instance_id}")
        assert page.status_code == 200, username
        text = page.get_data(as_text=True)
        assert "TS-0007" in text
        assert re.search(r'<ul class="open-tasks">\s*<li>Check the form', text), "waiting for: by its name"


def test_anyone_else_gets_403_and_no_data(app, instance_id):
    response = client_of(app, "otto").get(f"/instances/{instance_id}")
    assert response.status_code == 403
    assert "TS-0007" not in response.get_data(as_text=True)


def test_the_timeline_names_each_step_its_person_and_the_answers_by_their_labels(app, instance_id):
    """Issue 13: what was done, in words: the step's task name, who, each answer by its form title."""
    text = client_of(app, "sue").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert re.search(r'<strong class="who">Clara</strong> · <span class="what">Fill in the form</span>', text)
    assert re.search(r"<dt>Summary</dt><dd[^>]*>No signal</dd>", text)
    assert "task_fill" not in re.sub(r"<script.*?</script>|data-[a-z-]+=\"[^\"]*\"", "", text, flags=re.S)


def test_the_diagram_is_the_instances_own_version(app, instance_id):
    """The viewer's options name the diagrams of the instance's own version (cached per version)."""
    clara = client_of(app, "clara")
    page = clara.get(f"/instances/{instance_id}").get_data(as_text=True)
    url = re.search(r"&#34;diagramsUrl&#34;: &#34;([^&]+)&#34;", page).group(1)
    engine = app.extensions["process_engine"]
    version = version_diagrams(engine, deployment_id=engine.instance(instance_id).deployment_id).version
    assert url == f"/versions/{version}/diagrams.json"
    response = clara.get(url)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert 'id="form_process"' in "".join(json.loads(response.data)["files"].values())


def test_the_diagram_marks_are_where_the_instance_is(app, instance_id):
    text = client_of(app, "sue").get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "&#34;current&#34;: [&#34;task_check&#34;]" in text
    assert "&#34;task_fill&#34;" in text  # among the completed ones


def test_an_unknown_instance_is_404(app):
    assert client_of(app, "sue").get("/instances/999").status_code == 404
