"""Readable names of the procedure's clocks (L7), one for every page that shows a clock.

The clock ids (``L2``, ``L4``...) are the rule ids people know from the procedure; the name
beside them says what the clock measures. The name is drawn on the clock's timer in the
diagram (property ``title``, bilingual "中文 English"), so a clock a new version adds is
named where it is drawn, not here; the reader sees the half in the page's language. A clock
whose timer has no title shows as its id.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import g, has_app_context

from engine.clock_catalogue import ClockCatalogue
from engine.deployments import latest_deployment
from web.engine_access import installed_engine
from web.value_labels import in_language

TITLE_PROPERTY = "title"


def _catalogue() -> ClockCatalogue | None:
    """The newest deployed version's clocks, read once per request or app context."""
    if not has_app_context():
        return None
    if "clock_catalogue" not in g:
        engine = installed_engine()
        catalogue = None
        if engine is not None:
            with engine.reader() as session:
                deployment = latest_deployment(session)
            if deployment is not None:
                catalogue = engine.runtime(deployment.id).clock_catalogue
        g.clock_catalogue = catalogue
    return g.clock_catalogue


def clock_titles() -> Mapping[str, str]:
    """Clock id -> its bilingual title, from the newest deployed version's clock timers."""
    catalogue = _catalogue()
    titles: dict[str, str] = {}
    for timer in catalogue.timers.values() if catalogue is not None else ():
        title = (timer.properties.get(TITLE_PROPERTY) or "").strip()
        if title:
            titles.setdefault(timer.clock, title)
    return titles


def clock_order() -> list[str]:
    """The clock ids in the order the procedure runs into them (the catalogue's), for reports."""
    catalogue = _catalogue()
    return catalogue.clocks() if catalogue is not None else []


def clock_name(clock: str) -> str:
    """``L4 Department handling``: the id first, so it still sorts and searches by rule."""
    title = clock_titles().get(clock)
    return f"{clock} {in_language(title)}" if title else clock
