"""Chinese and English: chosen from the browser, switchable, and no UI string left untranslated."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.web.support import log_in
from web import accounts

WEB = Path(__file__).resolve().parents[2] / "web"
CATALOGUE = WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


def test_the_browsers_language_picks_chinese(app):
    page = app.test_client().get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    text = page.get_data(as_text=True)
    assert '<html lang="zh">' in text and "登录" in text and "用户名" in text


def test_english_otherwise_and_switchable_both_ways(app):
    client = app.test_client()
    assert "Username" in client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    client.get("/language/zh")
    assert "用户名" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    client.get("/language/en")
    assert "Username" in client.get("/login", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert client.get("/language/xx").status_code == 404


def test_flash_messages_follow_the_language(app, db):
    with app.extensions["process_engine"].writer() as session, session.begin():
        accounts.create_user(session, "clara", "password-1", "Clara", ["clerks"], ["agent"])
    client = app.test_client()
    client.get("/language/zh")
    response = log_in(client, "clara", "wrong")
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_the_language_picked_on_the_login_page_stays_after_logging_in(app, db):
    """Logging in starts a fresh session (no fixation); the reader's language survives it."""
    with app.extensions["process_engine"].writer() as session, session.begin():
        accounts.create_user(session, "clara", "password-1", "Clara", ["clerks"], ["agent"])
    client = app.test_client()
    client.get("/language/zh")
    assert log_in(client, "clara", "password-1").status_code == 302
    inbox = client.get("/inbox", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh">' in inbox and "待办" in inbox


def test_every_string_of_the_pages_has_a_chinese_translation():
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = {
        extracted[2]
        for extracted in extract_from_dir(str(WEB), method_map, keywords={"_": None, "gettext": None})
        if isinstance(extracted[2], str)
    }
    assert {"Inbox", "Log in", "Wrong username or password."} <= found
    with CATALOGUE.open("rb") as source:
        translated = {entry.id for entry in read_po(source) if entry.id and entry.string}
    assert sorted(found - translated) == []


# comments, scripts, expressions and statements, code, then the tags themselves
SKIPPED = (
    r"\{#.*?#\}",
    r"<(script|style)\b.*?</\1>",
    r"\{\{.*?\}\}|\{%.*?%\}",
    r"<code\b.*?</code>",
    r"<[^>]*>",
)


def bare_text(source: str) -> list[str]:
    """English words a template shows outside ``_()``: its text once tags, code and expressions are gone."""
    for pattern in SKIPPED:
        source = re.sub(pattern, " ", source, flags=re.S)
    return re.findall(r"[A-Za-z][A-Za-z']+", source)


# Names of formats and digests, the same in every language.
UNTRANSLATED_WORDS = {"CSV", "XLSX", "SHA"}


def test_no_template_shows_text_outside_babel():
    sample = '<h1>Versions</h1> {{ _("Compare") }} <code>v1</code> {% if x %}v{{ n }}{% endif %} CSV'
    assert bare_text(sample) == ["Versions", "CSV"]  # the check itself sees bare text, and only that
    templates = sorted((WEB / "templates").rglob("*.html"))
    assert len(templates) >= 15  # every page, the admin ones included
    left = {
        template.name: [
            word for word in bare_text(template.read_text(encoding="utf-8")) if word not in UNTRANSLATED_WORDS
        ]
        for template in templates
    }
    assert left == {template.name: [] for template in templates}
