"""People as colleagues know them: usernames to display names for the pages (issue 13).

A page never shows a username where a person is meant (no raw ids): the website's and the
engine's own actors get words too.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext
from sqlalchemy import select

from engine.service import SYSTEM_ACTOR
from web import accounts
from web.public import SUBMITTED_VIA
from web.value_labels import in_language


def display_names(session, usernames: Iterable[str | None]) -> dict[str, str]:
    """username -> display name for the usernames given (the website and the system in words).

    A bilingual name ("受理员 Intake clerk", as the demo accounts have) shows in the page's language.
    """
    wanted = {name for name in usernames if name}
    known: dict[str, str] = {}
    if wanted:
        user = accounts.User
        rows = session.execute(select(user.username, user.display_name).where(user.username.in_(wanted)))
        known = {username: in_language(shown) or username for username, shown in rows.all()}
    known.setdefault(SUBMITTED_VIA, gettext("the customer (website)"))
    known.setdefault(SYSTEM_ACTOR, gettext("the system"))
    return known
