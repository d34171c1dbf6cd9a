"""The web app end to end on a real database: health, login with CSRF, overview, logout."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta

import pytest

from engine.db import make_session_factories
from engine.deployments import latest_deployment
from tests.engine.support import engine_test_handlers, valid_bundle
from tests.web.support import csrf_token, log_in
from web import accounts


@pytest.fixture
def demo_users(db):
    """The intake clerk of the demo accounts (the others only cost hashing time here)."""
    [intake] = [demo for demo in accounts.DEMO_USERS if demo.username == "intake"]
    writer, _ = make_session_factories(db)
    with writer() as session, session.begin():
        accounts.create_user(
            session,
            intake.username,
            accounts.DEMO_PASSWORD,
            intake.display_name,
            intake.groups,
            intake.roles,
            demo=True,
        )


@pytest.fixture
def engine(make_engine):
    """An engine with the handlers the test bundle names, on the app's database."""
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="owner")
    return engine


# ---------------------------------------------------------------------- health


def test_health_is_ok_on_an_empty_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "deployed_version": None,
        "scheduler": "off",
        "next_timer_at": None,
        "overdue_timers": 0,
    }


def test_health_shows_the_deployed_version_and_the_next_timer(client, engine, clock):
    assert client.get("/health").json["deployed_version"] == 1
    instance_id = engine.start(actor="intake").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="intake", data={"amount": 500, "description": "desk"})
    body = client.get("/health").json
    due = datetime.fromisoformat(body["next_timer_at"])
    assert due == clock.now() + timedelta(hours=2) and due.utcoffset() == timedelta(0)


def test_readiness_answers_503_when_the_database_fails_and_liveness_says_so(make_app, tmp_path):
    broken = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")
    response = broken.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "error"}
    alive = broken.test_client().get("/health")
    assert alive.status_code == 200  # the process lives: restarting it would not help
    assert alive.json["database"] == "error"


def test_the_scheduler_runs_only_when_asked_and_fires_overdue_timers(make_app, engine, clock):
    instance_id = engine.start(actor="intake").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="intake", data={"amount": 500, "description": "desk"})
    clock.advance(timedelta(hours=3))
    app = make_app(SCHEDULER=True, CLOCK=clock)
    assert app.test_client().get("/health").json["scheduler"] == "running"
    timers = app.extensions["node_scheduler"].jobs["timers"]
    assert timers.caught_up.wait(timeout=60)  # fired in the background
    assert [t.element_id for t in engine.open_tasks(instance_id)] == ["task_escalate"]


# ---------------------------------------------------------------------- login and logout


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_a_post_without_csrf_token_is_refused(client, demo_users):
    response = client.post("/login", data={"username": "intake", "password": "demo"})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in


def test_a_wrong_password_is_refused(client, demo_users):
    response = log_in(client, "intake", "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_sets_a_protected_session_cookie(client, demo_users):
    response = log_in(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on localhost works by default


def test_after_login_the_overview_lists_deployment_instance_and_open_task(client, demo_users, engine):
    instance_id = engine.start(actor="intake", business_key="R-2026-0001").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.assign(task.id, actor="owner", assignee="intake")  # the overview lists the viewer's tasks
    response = log_in(client, next_path="/")
    assert (response.status_code, response.headers["Location"]) == (302, "/")

    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with engine.reader() as session:
        content_hash = latest_deployment(session).content_hash
    deployments, instances, tasks = _sections(html)
    assert content_hash[:12] in deployments and "owner" in deployments
    assert "R-2026-0001" in instances and "approval_process" in instances
    assert "running" in instances
    assert task.name in tasks and "clerk" in tasks and "R-2026-0001" in tasks
    assert "Intake clerk" in html and "受理员" not in html  # who is logged in, in English
    client.get("/language/zh")
    chinese = client.get("/").get_data(as_text=True)
    assert "受理员" in chinese and "Intake clerk" not in chinese, "a bilingual name in the page's language"


def test_next_never_leads_to_another_site(client, demo_users):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = log_in(client, next_path=target)
        assert response.headers["Location"] == "/", target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_logout_needs_its_token_and_ends_the_session(client, demo_users):
    log_in(client)
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in

    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_a_deactivated_user_is_logged_out_at_the_next_request(client, demo_users, db):
    log_in(client)
    assert client.get("/").status_code == 200
    writer, _ = make_session_factories(db)
    with writer() as session, session.begin():
        accounts.set_active(session, "intake", False)
    assert client.get("/").status_code == 302


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert client.get("/static/style.css").status_code == 200


# ---------------------------------------------------------------------- secret key


def test_without_secret_key_a_private_one_is_created_once_and_kept(make_app, tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "instance"))
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 64
    second = make_app(SECRET_KEY=None, INSTANCE_PATH=str(tmp_path / "instance"))
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def _sections(html: str) -> tuple[str, str, str]:
    """The deployments, instances and tasks sections of the overview page."""
    parts = []
    for name in ("deployments", "instances", "tasks"):
        start = html.index(f'<section id="{name}">')
        parts.append(html[start : html.index("</section>", start)])
    return parts[0], parts[1], parts[2]
