"""``/admin/users``: accounts and API tokens managed in the browser, by admins only.

Through the Flask test client with real CSRF tokens, the real database and the real API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from engine.models import AuditEvent
from tests.web.support import csrf_token, log_in
from web import accounts, api_tokens

STRONG = "tangerine kettle orbit"
ALSO_STRONG = "violet harbour cinema"
WEB = Path(__file__).resolve().parents[2] / "web"
SECRET = re.compile(r'<code id="issued-token">(cpt_[^<]+)</code>')


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


@pytest.fixture
def people(engine):
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "root", STRONG, "Root", (), ("admin",))
        accounts.create_user(session, "clara", STRONG, "Clara", ("clerks",), ("agent",))


@pytest.fixture
def admin(app, people):
    client = app.test_client()
    log_in(client, "root", STRONG)
    return client


def post(client, path: str, **data):
    data.setdefault("csrf_token", csrf_token(client, "/admin/users"))
    return client.post(path, data=data)


def user(engine, username: str) -> accounts.User | None:
    with engine.reader() as session:
        return accounts.find_user(session, username)


def audit(engine) -> list[tuple[str, str, str]]:
    """Account changes in the audit log (logins are audited too, with no username in the detail)."""
    with engine.reader() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id.is_(None)).order_by(AuditEvent.id)
        )
        details = [(row, json.loads(row.detail)) for row in rows]
        return [
            (row.actor, row.command, detail["username"]) for row, detail in details if "username" in detail
        ]


def test_for_admins_only(app, people):
    client = app.test_client()
    assert client.get("/admin/users").status_code == 302  # to the login page
    log_in(client, "clara", STRONG)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/clara").status_code == 403
    token = csrf_token(client, "/")
    refused = client.post("/admin/users/clara/active", data={"active": "0", "csrf_token": token})
    assert refused.status_code == 403
    assert user(app.extensions["process_engine"], "clara").active
    assert 'href="/admin/users"' not in client.get("/").get_data(as_text=True)


def test_the_list_shows_roles_groups_state_and_demo_flag(admin, engine):
    with engine.writer() as session, session.begin():
        accounts.ensure_demo_users(session)
        accounts.set_active(session, "legal", False)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert 'href="/admin/users"' in page  # the navigation links here
    row = re.search(r'<a href="/admin/users/clara">clara</a>.*?</tr>', page, re.S).group(0)
    assert "Clara" in row and "agent" in row and "clerks" in row and "active" in row and "demo" not in row
    legal = re.search(r'<a href="/admin/users/legal">legal</a>.*?</tr>', page, re.S).group(0)
    assert "disabled" in legal and "demo password" in legal


def test_every_form_needs_the_csrf_token(admin, engine):
    refused = admin.post(
        "/admin/users", data={"username": "dora", "password": ALSO_STRONG, "confirm": ALSO_STRONG}
    )
    assert refused.status_code == 400
    assert user(engine, "dora") is None
    assert admin.post("/admin/users/clara/active", data={"active": "0"}).status_code == 400
    assert user(engine, "clara").active


def test_create_a_user(admin, engine):
    created = post(
        admin,
        "/admin/users",
        username="Dora",
        display_name="Dora Dispatcher",
        password=ALSO_STRONG,
        confirm=ALSO_STRONG,
        roles=["agent", "supervisor"],
        groups="cs_center, supervisor",
    )
    assert created.status_code == 302
    assert created.headers["Location"].endswith("/admin/users/dora")
    dora = user(engine, "dora")
    assert (dora.display_name, sorted(dora.roles), dora.groups) == (
        "Dora Dispatcher",
        ["agent", "supervisor"],
        ["cs_center", "supervisor"],
    )
    assert not dora.is_demo
    assert ("root", "user_created", "dora") in audit(engine)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"password": "12345678", "confirm": "12345678"}, "password", "too easy to guess"),
        ({"password": "dora", "confirm": "dora"}, "password", "at least 8 characters"),
        ({"password": ALSO_STRONG, "confirm": STRONG}, "confirm", "The two passwords differ."),
        ({"username": "system"}, "username", "reserved"),
        ({"username": "clara"}, "username", "already taken"),
        ({"username": "has space"}, "username", "must be 1-80 letters"),
        ({"groups": "bad/group"}, "groups", "is not a group name"),
        ({"roles": ["boss"]}, "roles", "unknown role"),
    ],
)
def test_refused_input_is_shown_next_to_its_field(admin, engine, fields, field, message):
    data = {"username": "dora", "display_name": "Dora", "password": ALSO_STRONG, "confirm": ALSO_STRONG}
    page = post(admin, "/admin/users", **{**data, **fields})
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    found = re.search(rf'<p class="error" id="error-{field}" role="alert">([^<]*)</p>', text)
    assert found and message in found.group(1).replace("&#39;", "'"), text
    assert 'value="Dora"' in text  # what was typed stays
    assert ALSO_STRONG not in text  # passwords are not sent back
    assert user(engine, "dora") is None
    assert [entry[1] for entry in audit(engine)] == []


def test_change_roles_and_groups(admin, engine):
    saved = post(admin, "/admin/users/clara/access", roles=["agent", "supervisor"], groups="legal supervisor")
    assert saved.status_code == 302
    clara = user(engine, "clara")
    assert (sorted(clara.roles), sorted(clara.groups)) == (["agent", "supervisor"], ["legal", "supervisor"])
    assert audit(engine) == [("root", "roles_changed", "clara"), ("root", "groups_changed", "clara")]

    refused = post(admin, "/admin/users/clara/access", roles=["admin"], groups="no/such")
    assert refused.status_code == 400
    assert 'id="error-groups"' in refused.get_data(as_text=True)
    clara = user(engine, "clara")
    assert sorted(clara.roles) == ["agent", "supervisor"]  # roles and groups change together or not at all
    assert len(audit(engine)) == 2


def test_the_last_admin_cannot_demote_or_disable_themselves(admin, engine):
    demoted = post(admin, "/admin/users/root/access", roles=["agent"], groups="")
    assert demoted.status_code == 400
    assert "&#39;root&#39; is the last active administrator" in demoted.get_data(as_text=True)
    disabled = post(admin, "/admin/users/root/active", active="0")
    assert disabled.status_code == 400
    assert 'id="error-active"' in disabled.get_data(as_text=True)
    root = user(engine, "root")
    assert root.roles == ["admin"] and root.active


def test_set_a_new_password(app, admin, engine):
    with engine.writer() as session, session.begin():
        accounts.ensure_demo_users(session)
    weak = post(admin, "/admin/users/intake/password", password="password", confirm="password")
    assert weak.status_code == 400 and 'id="error-password"' in weak.get_data(as_text=True)
    assert user(engine, "intake").is_demo

    changed = post(admin, "/admin/users/intake/password", password=ALSO_STRONG, confirm=ALSO_STRONG)
    assert changed.status_code == 302
    intake = user(engine, "intake")
    assert not intake.is_demo and intake.session_generation == 1
    client = app.test_client()
    assert log_in(client, "intake", accounts.DEMO_PASSWORD).status_code == 401
    assert log_in(client, "intake", ALSO_STRONG).status_code == 302
    assert audit(engine)[-1] == ("root", "password_changed", "intake")


def test_disable_and_enable(app, admin, engine):
    assert post(admin, "/admin/users/clara/active", active="0").status_code == 302
    assert not user(engine, "clara").active
    assert log_in(app.test_client(), "clara", STRONG).status_code == 401
    assert post(admin, "/admin/users/clara/active", active="1").status_code == 302
    assert log_in(app.test_client(), "clara", STRONG).status_code == 302
    assert [entry[1] for entry in audit(engine)] == ["user_disabled", "user_enabled"]
    assert post(admin, "/admin/users/clara/active", active="maybe").status_code == 400


def test_issue_list_and_revoke_a_token(app, admin, engine, clock):
    issued = post(admin, "/admin/users/clara/tokens", label="crm", expires_days="30")
    assert issued.status_code == 201
    secret = SECRET.search(issued.get_data(as_text=True)).group(1)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/tasks", headers=headers).status_code == 200

    page = admin.get("/admin/users/clara").get_data(as_text=True)
    assert secret not in page  # shown once only
    with engine.reader() as session:
        (row,) = api_tokens.tokens_of(session, "clara")
    assert (row.label, (row.expires_at - row.created_at).days) == ("crm", 30)
    assert row.last_used_at is not None
    assert "crm" in page and f"/admin/users/clara/tokens/{row.id}/revoke" in page

    assert post(admin, f"/admin/users/root/tokens/{row.id}/revoke").status_code == 404  # not root's
    assert post(admin, f"/admin/users/clara/tokens/{row.id}/revoke").status_code == 302
    refused = api.get("/api/v1/tasks", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["error"]
    assert [entry[1] for entry in audit(engine)] == ["token_issued", "token_revoked"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"label": "crm", "expires_days": "0"}, "expires_days"),
        ({"label": " ", "expires_days": "30"}, "label"),
    ],
)
def test_a_refused_token_names_the_field(admin, engine, fields, field):
    page = post(admin, "/admin/users/clara/tokens", **fields)
    assert page.status_code == 400
    assert f'id="error-{field}"' in page.get_data(as_text=True)
    with engine.reader() as session:
        assert api_tokens.tokens_of(session, "clara") == []


def test_a_never_expiring_token_is_chosen_explicitly(admin, engine):
    assert post(admin, "/admin/users/clara/tokens", label="crm", never_expires="1").status_code == 201
    with engine.reader() as session:
        (row,) = api_tokens.tokens_of(session, "clara")
    assert row.expires_at is None


def test_unknown_users_are_404(admin):
    assert admin.get("/admin/users/nobody").status_code == 404


def test_the_pages_and_errors_speak_chinese(admin):
    admin.get("/language/zh")
    page = post(admin, "/admin/users", username="dora", password="12345678", confirm="12345678")
    text = page.get_data(as_text=True)
    assert "新用户" in text and "太容易被猜中" in text and "Password again" not in text
    detail = admin.get("/admin/users/clara").get_data(as_text=True)
    assert "签发令牌" in detail and "角色和组" in detail


def test_every_account_error_has_a_translation():
    """The errors of web/accounts.py are shown translated: each of their templates is in the catalogue."""
    pattern = re.compile(r'AccountError\(\s*(?:"\w+"|field),\s*((?:"[^"]*"\s*)+)')
    templates = set()
    for module in ("accounts.py", "api_tokens.py", "account_changes.py"):
        for found in pattern.finditer((WEB / module).read_text()):
            templates.add("".join(re.findall(r'"([^"]*)"', found.group(1))))
    assert "is too easy to guess" in " ".join(templates) and len(templates) >= 15
    with (WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        translated = {entry.id for entry in read_po(source) if entry.id and entry.string}
    assert sorted(templates - translated) == []
