"""The draft's what-if page: who sees it, ``days`` checked, figures and words in both languages.

History: four ordinary dispatches of 2h10, 1h50, 3h20 and 0h30 closed this week
(``whatif_support.dispatch_history``): on time 2/4 under L2 2 h, 3/4 under the draft's 3 h.
The replay itself is checked figure by figure in tests/procedure/test_whatif.py.
"""

from __future__ import annotations

import pytest

from engine import drafts
from tests.procedure.whatif_support import L2_THREE_HOURS, dispatch_history, text_with
from tests.web.support import client_of
from web import accounts


@pytest.fixture
def app(procedure_app):
    engine = procedure_app.extensions["process_engine"]
    with engine.writer() as session, session.begin():
        accounts.ensure_demo_users(session)
        dispatch_history(session.connection())
    return procedure_app


def draft_with(app, *replacements) -> int:
    engine = app.extensions["process_engine"]
    draft = drafts.create_draft(engine, actor="owner", title="L2 in 3 hours")
    files = {**draft.bundle.files, "procedure.toml": text_with(*replacements).encode()}
    return drafts.save_draft(engine, draft.id, files, actor="owner").id


def person(app, username):
    return client_of(app, username, accounts.DEMO_PASSWORD)


@pytest.mark.parametrize("username", ["owner", "admin"])
def test_owner_and_admin_see_the_dispatch_rate_under_the_draft_beside_the_actual_one(app, username):
    draft_id = draft_with(app, L2_THREE_HOURS)
    client = person(app, username)

    editor = client.get(f"/modeler/drafts/{draft_id}").get_data(as_text=True)
    assert f'action="/modeler/drafts/{draft_id}/whatif"' in editor

    page = client.get(f"/modeler/drafts/{draft_id}/whatif?days=30")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    row = text[text.index('<tr data-clock="L2">') :]
    row = row[: row.index("</tr>")]
    assert "L2 Review and dispatch" in row
    assert "50.0 % (2/4)" in row and "75.0 % (3/4)" in row and "+25.0" in row
    assert "4 complaints closed" in text


@pytest.mark.parametrize("username", ["supervisor", "dispatcher", "intake"])
def test_everyone_else_is_refused(app, username):
    draft_id = draft_with(app, L2_THREE_HOURS)
    assert person(app, username).get(f"/modeler/drafts/{draft_id}/whatif").status_code == 403


@pytest.mark.parametrize("days", ["0", "366", "abc", "-1", "9" * 30])
def test_days_out_of_one_to_365_is_a_400_naming_the_field(app, days):
    draft_id = draft_with(app, L2_THREE_HOURS)
    page = person(app, "owner").get(f"/modeler/drafts/{draft_id}/whatif?days={days}")
    assert page.status_code == 400
    assert "days: a whole number from 1 to 365" in page.get_data(as_text=True)


def test_the_window_reaches_back_as_far_as_asked(app):
    draft_id = draft_with(app, L2_THREE_HOURS)
    text = person(app, "owner").get(f"/modeler/drafts/{draft_id}/whatif?days=60").get_data(as_text=True)
    assert "40.0 % (2/5)" in text and "80.0 % (4/5)" in text  # the one closed 40 days ago counts


def test_a_draft_whose_figures_cannot_be_read_says_which_and_keeps_the_draft(app):
    draft_id = draft_with(app, ('ordinary = "PT2H"', 'ordinary = "two hours"'))
    page = person(app, "owner").get(f"/modeler/drafts/{draft_id}/whatif")
    assert page.status_code == 422
    assert "procedure.toml [dispatch_deadlines]" in page.get_data(as_text=True)
    engine = app.extensions["process_engine"]
    assert b'"two hours"' in drafts.get_draft(engine, draft_id).bundle.config_bytes


def test_no_such_draft_is_a_404(app):
    assert person(app, "owner").get("/modeler/drafts/999/whatif").status_code == 404


def test_in_chinese(app):
    draft_id = draft_with(app, L2_THREE_HOURS)
    client = person(app, "owner")
    client.get("/language/zh")
    text = client.get(f"/modeler/drafts/{draft_id}/whatif").get_data(as_text=True)
    assert "按草稿及时" in text and "75.0 % (3/4)" in text and "立即超时" in text
