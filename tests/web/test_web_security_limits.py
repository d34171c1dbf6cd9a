"""Issue 12, items 2, 4 and 7: login limits nobody can dodge or turn against a user, sessions
that end at logout, no 500 for a number too big for the database, no redirect off the site."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from engine import audit
from engine.bundle import load_bundle
from engine.models import AuditEvent
from tests.web.support import api_caller, client_of, csrf_token, log_in
from web import accounts, login_limits
from web.bounded_ints import MAX_ID

BUNDLE = Path(__file__).with_name("bundles") / "forms"
HUGE = "9" * 20  # beyond a signed 64-bit integer
JUST_TOO_BIG = str(2**63)


@pytest.fixture
def app(make_app, clock):
    app = make_app(CLOCK=clock)
    _people(app)
    return app


@pytest.fixture
def engine(app):
    return app.extensions["process_engine"]


def _people(app) -> None:
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(BUNDLE), actor="owner")
    with engine.writer() as session, session.begin():
        for name in ("clara", "billing"):
            accounts.create_user(session, name, "password-1", name.title(), ["clerks"], ["agent"])


def browser(app, address: str = "127.0.0.1", forwarded_for: str | None = None):
    """A client at ``address``, optionally sending ``X-Forwarded-For`` (as a proxy, or a liar)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


# ---------------------------------------------------------------------- item 2: login limits


@pytest.mark.parametrize("variant", [" billing", "billing ", "\tbilling", "BILLING", " Billing\t"])
def test_after_the_name_is_limited_its_whitespace_and_case_variants_are_too(app, variant):
    guesser = browser(app)
    for _ in range(login_limits.FREE_PER_NAME):
        assert log_in(guesser, "billing", "guess").status_code == 401
    assert log_in(guesser, variant, "password-1").status_code == 429


def test_failures_under_variants_of_a_name_add_up(app):
    guesser = browser(app)
    for variant in (" billing", "billing ", "\tbilling"):
        assert log_in(guesser, variant, "guess").status_code == 401
    assert log_in(guesser, "billing", "password-1").status_code == 429


def test_an_invalid_name_counts_under_its_stripped_lower_form():
    assert login_limits.login_key("  Not A Name!\t") == "not a name!"
    assert login_limits.login_key(" Billing ") == "billing"


def test_a_strangers_wrong_passwords_only_delay_the_real_user(app, clock):
    stranger = browser(app, "203.0.113.9")
    for earlier in range(5):  # each guess as soon as allowed: 0, 0, 0, 1, 2 s after the one before
        clock.advance(login_limits.delay_after(earlier, login_limits.FREE_PER_NAME))
        assert log_in(stranger, "clara", "guess").status_code == 401
    clara = browser(app, "198.51.100.20")
    refused = log_in(clara, "clara", "password-1")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "4"
    assert "try again in 4 seconds" in refused.get_data(as_text=True)
    clock.advance(timedelta(seconds=4))
    assert log_in(clara, "clara", "password-1").status_code == 302


def test_an_attempt_inside_the_wait_is_not_checked_nor_counted_and_the_wait_grows(app, clock):
    guesser = browser(app)
    for _ in range(3):
        assert log_in(guesser, "clara", "guess").status_code == 401
    assert log_in(guesser, "clara", "password-1").status_code == 429  # right password, not looked at
    assert log_in(guesser, "clara", "guess").status_code == 429  # not counted: the wait stays 1 s
    clock.advance(timedelta(seconds=1))
    assert log_in(guesser, "clara", "guess").status_code == 401  # the fourth failure: 2 s
    clock.advance(timedelta(seconds=1))
    assert log_in(guesser, "clara", "guess").headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert log_in(guesser, "clara", "password-1").status_code == 302


def test_the_delay_doubles_and_stops_at_fifteen_minutes():
    delays = [login_limits.delay_after(n, 3).total_seconds() for n in (2, 3, 4, 5, 12, 13, 500)]
    assert delays == [0, 1, 2, 4, 512, 900, 900]


def test_a_successful_login_clears_the_names_failures(app, clock):
    client = browser(app)
    for _ in range(3):
        log_in(client, "clara", "guess")
    clock.advance(timedelta(seconds=1))
    assert log_in(client, "clara", "password-1").status_code == 302
    other = browser(app)
    assert [log_in(other, "clara", "guess").status_code for _ in range(3)] == [401, 401, 401]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, clock):
    for number in range(login_limits.FREE_PER_ADDRESS):
        liar = browser(app, "198.51.100.7", forwarded_for=f"10.9.0.{number}")
        assert log_in(liar, f"nobody{number}", "guess").status_code == 401
    liar = browser(app, "198.51.100.7", forwarded_for="10.9.0.99")
    assert log_in(liar, "clara", "password-1").status_code == 429  # one address, whatever it claims
    assert log_in(browser(app, "198.51.100.8"), "clara", "password-1").status_code == 302
    clock.advance(timedelta(seconds=1))  # a delay, not a lock: the shared address gets in again
    assert log_in(liar, "clara", "password-1").status_code == 302


def test_behind_a_trusted_proxy_the_real_client_address_is_counted(make_app, clock, engine_events):
    app = make_app(CLOCK=clock, TRUSTED_PROXIES=1)
    _people(app)
    proxy = "10.0.0.1"  # every request arrives from the proxy; the client is the last forwarded entry
    for number in range(login_limits.FREE_PER_ADDRESS):
        guesser = browser(app, proxy, forwarded_for=f"6.6.6.{number}, 198.51.100.7")  # spoofed first entry
        assert log_in(guesser, f"nobody{number}", "guess").status_code == 401
    assert log_in(browser(app, proxy, "198.51.100.7"), "clara", "password-1").status_code == 429
    assert log_in(browser(app, proxy, "198.51.100.8"), "clara", "password-1").status_code == 302
    logins = engine_events(app, "login")
    assert [detail["address"] for _, _, detail in logins] == ["198.51.100.8"]


def test_trusted_proxies_must_be_a_small_whole_number(make_app):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES="two")


@pytest.fixture
def engine_events():
    def events(app, *commands: str) -> list[tuple[str, str, dict]]:
        with app.extensions["process_engine"].reader() as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.command.in_(commands)).order_by(AuditEvent.id)
            )
            return [(row.command, row.actor, json.loads(row.detail)) for row in rows]

    return events


def test_logins_and_failed_logins_are_in_the_audit_chain_with_the_address(app, engine_events):
    client = browser(app, "198.51.100.7")
    assert log_in(client, " Clara", "guess").status_code == 401
    assert log_in(client, "clara", "password-1").status_code == 302
    assert engine_events(app, "login", "login_failed") == [
        ("login_failed", "clara", {"address": "198.51.100.7"}),
        ("login", "clara", {"address": "198.51.100.7"}),
    ]
    with app.extensions["process_engine"].reader() as session:
        assert audit.verify(session) == []


# ---------------------------------------------------------------------- item 4: sessions end


def test_a_cookie_copied_before_logout_is_refused_after_it(app):
    clara = client_of(app, "clara")
    thief = app.test_client()
    thief.set_cookie("complaints_session", clara.get_cookie("complaints_session").value)
    assert thief.get("/inbox").status_code == 200

    clara.post("/logout", data={"csrf_token": csrf_token(clara, "/inbox")})
    refused = thief.get("/inbox")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert log_in(clara, "clara", "password-1").status_code == 302  # a new login works
    assert clara.get("/inbox").status_code == 200


def test_a_raised_session_generation_ends_the_users_sessions(app, engine):
    clara = client_of(app, "clara")
    with engine.writer() as session, session.begin():
        accounts.find_user(session, "clara").session_generation += 1  # password change, deactivation
    assert clara.get("/inbox").status_code == 302


# ---------------------------------------------------------------------- item 7: big numbers


@pytest.mark.parametrize(
    "path",
    [
        f"/instances/{HUGE}",
        f"/instances/{JUST_TOO_BIG}",
        f"/instances/{HUGE}/appeal-feedback",
        f"/evidence/{HUGE}",
    ],
)
def test_an_id_beyond_the_databases_range_is_404(app, path):
    assert client_of(app, "clara").get(path).status_code == 404


def test_a_form_posted_to_an_id_beyond_the_range_is_404(app):
    clara = client_of(app, "clara")
    response = clara.post(f"/notifications/{HUGE}/read", data={"csrf_token": csrf_token(clara, "/inbox")})
    assert response.status_code == 404


@pytest.mark.parametrize("number", [MAX_ID, MAX_ID + 1, 2**63 - 1, 2**63])
def test_ids_at_and_past_the_columns_range_are_simply_not_found(app, number):
    """PostgreSQL's INTEGER ends at 2**31 - 1: past it the database itself refuses (a 500)."""
    assert client_of(app, "clara").get(f"/instances/{number}").status_code == 404


@pytest.mark.parametrize("page", [HUGE, "abc", "0", "-1"])
def test_a_bad_inbox_page_is_400_naming_the_field(app, page):
    response = client_of(app, "clara").get(f"/inbox?page={page}")
    assert response.status_code == 400
    assert "page: a whole number from 1 to" in response.get_data(as_text=True)


def test_a_version_number_beyond_the_range_is_400_naming_the_field(app, engine):
    with engine.writer() as session, session.begin():
        accounts.create_user(session, "ada", "password-1", "Ada", [], ["admin", "process_owner"])
    ada = client_of(app, "ada")
    versions = ada.get(f"/admin/versions?from={HUGE}&to=1")
    assert versions.status_code == 400 and "from: a whole number" in versions.get_data(as_text=True)
    draft = ada.post(
        "/modeler/drafts",
        data={"base_version": HUGE, "title": "x", "csrf_token": csrf_token(ada, "/modeler")},
    )
    assert draft.status_code == 400 and "base_version: a whole number" in draft.get_data(as_text=True)


def test_a_bad_api_page_is_400_naming_the_field(app):
    response = api_caller(app, "clara").get(f"/tasks?page={HUGE}")
    assert response.status_code == 400
    assert set(response.json["fields"]) == {"page"} and response.json["error"].startswith("page:")


def test_the_openapi_document_lists_the_400_and_500_answers(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    validate(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "500" in operation["responses"], f"{method} {path}"
    tasks = document["paths"]["/tasks"]["get"]
    assert "400" in tasks["responses"]
    [page] = [parameter for parameter in tasks["parameters"] if parameter["name"] == "page"]
    assert page["schema"]["maximum"] < 2**63


# ---------------------------------------------------------------------- item 7: redirects


OFF_SITE = ["https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "javascript:x"]


@pytest.mark.parametrize("target", OFF_SITE)
@pytest.mark.parametrize("action", ["claim", "unclaim"])
def test_claim_and_unclaim_never_redirect_off_the_site(app, engine, action, target):
    [task_id] = engine.start(actor="clara", business_key="TS-0001").opened_task_ids
    if action == "unclaim":
        engine.claim(task_id, actor="clara", actor_groups=["clerks"])
    clara = client_of(app, "clara")
    response = clara.post(
        f"/tasks/{task_id}/{action}", data={"next": target, "csrf_token": csrf_token(clara, "/inbox")}
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/inbox")


def test_an_on_site_next_is_followed_after_a_claim(app, engine):
    [task_id] = engine.start(actor="clara", business_key="TS-0001").opened_task_ids
    clara = client_of(app, "clara")
    response = clara.post(
        f"/tasks/{task_id}/claim",
        data={"next": "/inbox?group=clerks", "csrf_token": csrf_token(clara, "/inbox")},
    )
    assert response.headers["Location"] == "/inbox?group=clerks"
