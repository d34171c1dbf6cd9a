"""Helpers of the web tests: logging in the way a browser does."""

from __future__ import annotations

import re
from pathlib import Path

from web import accounts

CSRF_FIELD = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client, path="/login") -> str:
    page = client.get(path)
    found = CSRF_FIELD.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client, username="intake", password=accounts.DEMO_PASSWORD, next_path=None):
    """Log in the way a browser does: fetch the form, post it back with its token."""
    url = "/login" if next_path is None else f"/login?next={next_path}"
    token = csrf_token(client, url)
    return client.post(url, data={"username": username, "password": password, "csrf_token": token})


BPMN = Path(__file__).resolve().parents[2] / "bpmn"


def client_of(app, username: str, password: str = "password-1"):
    """A browser-like client logged in as ``username``."""
    client = app.test_client()
    log_in(client, username, password)
    return client


def api_caller(app, username: str):
    """A client whose requests to /api/v1 carry a fresh token of ``username``."""
    from web import api_tokens

    with app.extensions["process_engine"].writer() as session, session.begin():
        token = api_tokens.issue_token(session, username, "tests")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    class Caller:
        def get(self, path, **options):
            return client.get(f"/api/v1{path}", headers=headers, **options)

        def post(self, path, **options):
            return client.post(f"/api/v1{path}", headers=headers, **options)

    return Caller()
