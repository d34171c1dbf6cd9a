"""Readable names of the procedure's clocks (L7), one table for every page that shows a clock.

The clock ids (``L2``, ``L4``...) are the rule ids people know from the procedure; the name
beside them says what the clock measures, in the reader's language. A clock a later version
adds (named by its timer's element id) shows as its id until it is named here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

CLOCK_NAMES = {
    "L1": lazy_gettext("First reply"),
    "L2": lazy_gettext("Review and dispatch"),
    "L4": lazy_gettext("Department handling"),
    "R4": lazy_gettext("Reply to the customer"),
    "L6": lazy_gettext("Call-back window (R6)"),
    "T7": lazy_gettext("Report back to the outside unit (E4)"),
}


def clock_name(clock: str) -> str:
    """``L4 Department handling``: the id first, so it still sorts and searches by rule."""
    name = CLOCK_NAMES.get(clock)
    return f"{clock} {name}" if name else clock
