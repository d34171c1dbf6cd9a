"""Helpers of the web tests: logging in the way a browser does."""

from __future__ import annotations

import re

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
