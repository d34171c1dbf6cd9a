"""Browser tests: the real app served on loopback, driven by Debian's Chromium through Playwright.

Chromium comes from the system (tools/system-packages installs it; Playwright's own
browser download is not available here). Without it the browser tests are skipped,
except under CI or REQUIRE_BROWSER=1, where a missing browser is a failure.
Screenshots of each step are kept in test-artifacts/browser/.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine.bundle import load_bundle
from web import accounts, create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here but not installed (tools/system-packages installs it)")
        pytest.skip("Chromium is not installed: browser tests skipped")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_app(db, database_url, clock):
    """The product as `make run` serves it: bpmn/ deployed, demo users, on a free loopback port."""
    app = create_app(
        {"DATABASE_URL": database_url, "SCHEDULER": False, "SECRET_KEY": "browser-tests", "CLOCK": clock}
    )
    engine = app.extensions["process_engine"]
    engine.deploy(load_bundle(ROOT / "bpmn"), actor="admin")
    with engine.writer() as session, session.begin():
        accounts.ensure_demo_users(session)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    thread.join()


@pytest.fixture
def shoot(page, request) -> Iterator:
    """``shoot("step-name", on=page)`` keeps a screenshot as a test artefact."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1000))

    def take(step: str, on=None) -> Path:
        """Screenshot of ``on`` (a page of another person), else of the test's own page."""
        path = folder / f"{next(counter):02d}-{step}.png"
        (on or page).screenshot(path=str(path), full_page=True)
        return path

    yield take
