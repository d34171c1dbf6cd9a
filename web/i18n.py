"""Chinese and English pages (Flask-Babel): chosen from the browser, switchable per session.

The catalogue is ``web/translations/zh/LC_MESSAGES/messages.po``; its compiled form
is built from it when missing or older, so the source file is the only one kept.
Labels inside the procedure's forms are bilingual already (they come from bpmn/).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, abort, redirect, request, session
from flask_babel import Babel, get_locale, gettext

from web.auth import public

LANGUAGES = ("zh", "en")
TRANSLATIONS = Path(__file__).with_name("translations")

bp = Blueprint("i18n", __name__)


def init_app(app: Flask) -> None:
    _compile_catalogues()
    Babel(app, locale_selector=_locale, default_translation_directories=str(TRANSLATIONS))
    app.context_processor(lambda: {"current_language": str(get_locale() or "en"), "languages": LANGUAGES})
    app.register_blueprint(bp)


def _locale() -> str:
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="en")


@bp.get("/language/<code>")
@public
def choose(code: str):
    if code not in LANGUAGES:
        abort(404)
    session["language"] = code
    target = request.referrer or "/"
    return redirect(target if target.startswith(request.host_url) or target.startswith("/") else "/")


def say(message: str) -> str:
    """A handler's or the engine's message (``engine.messages.Message``) in the reader's language.

    Plain strings pass unchanged; a message whose id the catalogue lacks stays English.
    """
    msgid = getattr(message, "msgid", None)
    if msgid is None:
        return message
    return gettext(msgid, **message.params)  # type: ignore[attr-defined]


def said(errors: Mapping[str, str]) -> dict[str, str]:
    """Field errors, each in the reader's language."""
    return {field: say(message) for field, message in errors.items()}


def _compile_catalogues() -> None:
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as source:
            catalogue = read_po(source)
        temporary = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")  # processes start together
        with temporary.open("wb") as target:
            write_mo(target, catalogue)
        temporary.replace(mo_path)
