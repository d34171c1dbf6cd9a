"""``/progress``: a customer checks how far their complaint has got, without an account.

The customer gives the complaint number (C4) and their reference: the website receipt
(``WEB-XXXX-XXXX``, web.public) or the contact phone they gave. The answer is the stage
in plain words (tasks.case_file.PUBLIC_STAGE_WORDS) and the day it was received or
completed; never a name of staff, a note or a step of the procedure. A wrong number and a
wrong reference get the same answer, so the page tells nothing to someone guessing.

**Rate limit**, as the public complaint form's (web.public): lookups are rows counted per
client address over ``public.WINDOW``; the ``PER_ADDRESS + 1``-th is refused with 429.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask_babel import get_locale, gettext
from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.models import Instance, UTCDateTime
from tasks import case_file, records
from tasks.contacts import ComplaintContact
from web import public as website
from web.auth import public
from web.engine_access import current_engine

bp = Blueprint("progress", __name__)

PER_ADDRESS = 10  # lookups per client address per website.WINDOW


class ProgressLookup(Base):
    """One lookup on the progress page, for the per-address limit."""

    __tablename__ = "progress_lookups"
    __table_args__ = (Index("ix_progress_lookups_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


@bp.route("/progress", methods=["GET", "POST"])
@public
def progress_page():
    number = (request.form.get("number") or "").strip()[:40]
    reference = (request.form.get("reference") or "").strip()[:40]
    errors: dict[str, str] = {}
    found = None
    status = 200
    if request.method == "POST":
        if not number:
            errors["number"] = gettext("Please enter the complaint number.")
        if not reference:
            errors["reference"] = gettext("Please enter your reference or the phone number you gave.")
        if errors:
            status = 422
        elif not _counted():
            errors["_form"] = gettext("Too many lookups from this connection: please try again in an hour.")
            status = 429
        else:
            found = _progress(number, reference)
            if found is None:
                errors["_form"] = gettext("No complaint matches this number and reference: check both.")
                status = 404
    values = {"number": number, "reference": reference, "errors": errors, "found": found}
    return render_template("public_progress.html", **values), status


def _counted() -> bool:
    """Count this lookup; False when the address is over the limit (nothing is counted then)."""
    engine = current_engine()
    now, address = engine.clock.now(), (request.remote_addr or "unknown")[:64]
    with engine.writer() as session, session.begin():
        recent = session.scalar(
            select(func.count())
            .select_from(ProgressLookup)
            .where(ProgressLookup.address == address, ProgressLookup.at > now - website.WINDOW)
        )
        if recent >= PER_ADDRESS:
            return False
        session.add(ProgressLookup(address=address, at=now))
        session.execute(delete(ProgressLookup).where(ProgressLookup.at <= now - website.WINDOW))
    return True


def _progress(number: str, reference: str) -> dict | None:
    engine = current_engine()
    language = str(get_locale() or "en")
    with engine.reader() as session:
        instance = session.scalar(select(Instance).where(Instance.business_key == number.upper()))
        if instance is None:
            return None
        complaint = records.complaint_of_instance(session.connection(), instance.id)
        if not _reference_matches(session, instance.id, complaint, reference):
            return None
    if instance.status == "cancelled":
        stage = "discarded"
    elif complaint is not None:
        stage = complaint.stage
    else:
        stage = "closed" if instance.status == "completed" else "intake"
    return {
        "number": instance.business_key,
        "stage": case_file.public_stage_words(stage, language),
        "received_at": complaint.accepted_at if complaint and complaint.accepted_at else instance.created_at,
        "closed_at": complaint.closed_at if complaint else None,
    }


def _reference_matches(session, instance_id: int, complaint, reference: str) -> bool:
    receipt = session.scalar(
        select(website.WebsiteSubmission.receipt).where(website.WebsiteSubmission.instance_id == instance_id)
    )
    if receipt is not None and reference.upper() == receipt:
        return True
    if sum(ch.isdigit() for ch in reference) < 5:
        return False
    phone = records.normalise_phone(reference)
    if complaint is not None and complaint.customer_phone:
        return complaint.customer_phone == phone
    contact = session.get(ComplaintContact, instance_id)
    return contact is not None and contact.customer_phone == phone
