"""Names the complaint record and its readers share: diagram property values the record reads,
the reply conclusions R1 compares, and the one spelling of a phone number.

Kept apart from ``tasks.records`` (tables and queries) and ``tasks.complaint_projection`` (the
writer) so both can use them without importing each other.
"""

from __future__ import annotations

# L1: the config key of the first-reply figure; the clock whose timer shows it is stopped by
# the first reply, which the domain records (whichever path it comes from).
FIRST_REPLY_FIGURE = "first_reply_deadline"

# The user-task property naming the complaint's stage while that task is open (main-path
# tasks carry it; side tasks such as supervisor alerts and T2 reminders do not).
STAGE_PROPERTY = "stage"

# R1: the work-order reply's conclusions a later reply to the same customer must agree with
# (E1 responsibility, H2 over-charge, H5 form of compensation).
CONCLUSION_FIELDS = ("company_responsible", "overcharged", "compensation_form")

# A1, A5: the ``stage`` value of the record task of first contact.
INTAKE_STAGE = "intake"


def normalise_phone(phone: str) -> str:
    """Digits (and a leading +) only, so '138 0013 8000' finds '13800138000'."""
    text = phone.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return f"+{digits}" if text.startswith("+") else digits
