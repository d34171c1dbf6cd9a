"""403, 404 and 500 in the app's layout and the page's language, with a way back.

API requests keep JSON answers (``/api/`` has its own error shapes); everything else
gets the page: what happened in plain words and links to the inbox and the overview.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    for code in (403, 404, 500):
        app.register_error_handler(code, _page)


def _page(error: Exception):
    code = error.code if isinstance(error, HTTPException) and error.code else 500
    if request.path.startswith("/api/"):
        description = error.description if isinstance(error, HTTPException) else None
        return jsonify({"error": description or "internal error"}), code
    title, message = _words(code)
    # keep_flashes: a message meant for the next page is not used up by an error page
    return render_template("error.html", title=title, message=message, code=code, keep_flashes=True), code


def _words(code: int) -> tuple[str, str]:
    if code == 403:
        return gettext("No permission"), gettext(
            "You may not open this page: a complaint is shown to those who worked on it and to supervisors."
        )
    if code == 404:
        return gettext("Not found"), gettext("There is no such page or complaint. Check the link.")
    return gettext("Something went wrong"), gettext(
        "The page could not be shown. The error was logged; please try again or tell the administrator."
    )
