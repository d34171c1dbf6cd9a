"""A person logs in with a demo account and sees the deployed procedure (real Chromium)."""

from __future__ import annotations


def log_in(page, base_url: str, username: str, password: str = "demo") -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_demo_user_logs_in_and_sees_the_deployed_version(page, live_app, shoot):
    base = live_app.config["BASE_URL"]
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    shoot("login-page")
    log_in(page, base, "intake")
    page.wait_for_url(base + "/")
    assert page.get_by_text("Intake clerk").is_visible()
    assert page.locator("table").first.get_by_text("complaint").is_visible()
    shoot("overview")


def test_a_wrong_password_is_refused_with_a_message(page, live_app, shoot):
    base = live_app.config["BASE_URL"]
    log_in(page, base, "intake", "wrong-password")
    assert page.url.startswith(base + "/login")
    assert page.get_by_text("Wrong username or password", exact=False).is_visible()
    shoot("refused")
