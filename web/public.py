"""The website channel (C1 ``internet``, A5): a public complaint form, no account needed.

``GET/POST /complain`` (Chinese and English, CSRF-protected like every form) takes the
customer's name, contact phone, optional service account, business category (C2, from the
config of the version new complaints start on) and the complaint text. A valid submission
starts a complaint at once with the initial data

    {"channel": "internet", "submitted_via": "website", "website_receipt": ...,
     "customer_name": ..., "customer_phone": ..., "customer_account": ...,
     "business_category": ..., "description": ...}

so its intake task (``task_record_complaint``) waits in the intake group's inbox with these
fields filled in (``web.intake.prefilled``). Nothing else is decided on the website: A5 says
a web complaint is verified with the customer by phone before it is transcribed, and the
intake validator requires ``details_verified`` for the channel, so the agent calls the
customer, completes the record (nature category, type, T2/T3 link) and only then the
complaint is registered and numbered. The L1 clock (24 h to a first reply) runs from the
submission, the instant the company received the complaint.

**The customer's reference** is a receipt code (``WEB-XXXX-XXXX``, random, from an
alphabet without look-alike characters) stored in ``website_submissions`` with the instance
and carried in the process data (``website_receipt``), so the agent sees it and the
customer can quote it on the verification call. Not the complaint number: it is given only
when the intake registers the complaint (C4 numbers are gap-free per day, and a submission
that cannot be verified must not consume one). Not the instance id: it is sequential, so it
would reveal volumes and invite guessing, and it means nothing to an agent.

**Rate limit**: 5 accepted submissions per hour per client address (the rows of
``website_submissions``, shared by every app node); the sixth is refused with 429 and the
form kept. Behind a reverse proxy, configure ``ProxyFix`` so that ``remote_addr`` is the
client's.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.errors import EngineError
from engine.models import Deployment, UTCDateTime
from engine.service import BUSINESS_KEY, Outcome
from tasks import config as cfg
from tasks import records
from web.auth import public
from web.engine_access import current_engine

bp = Blueprint("public", __name__)

CHANNEL = "internet"  # C1 code of the website channel in procedure.toml
SUBMITTED_VIA = "website"
WINDOW = timedelta(hours=1)
PER_ADDRESS = 5
RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")  # as the intake form's customer_phone
MAX_NAME, MAX_ACCOUNT, MIN_DESCRIPTION, MAX_DESCRIPTION = 100, 60, 10, 4000


class WebsiteSubmission(Base):
    """A complaint submitted on the website: its receipt reference, instance and origin."""

    __tablename__ = "website_submissions"
    __table_args__ = (
        UniqueConstraint("receipt", name="uq_website_submissions_receipt"),
        Index("ix_website_submissions_address_at", "address", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt: Mapped[str] = mapped_column(String(20))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


def new_receipt() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(8))
    return f"WEB-{code[:4]}-{code[4:]}"


def submissions_from(session, address: str, now: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(WebsiteSubmission)
        .where(WebsiteSubmission.address == address, WebsiteSubmission.submitted_at > now - WINDOW)
    )


def _categories() -> tuple[int | None, dict[str, str]]:
    """The version new complaints start on, and its C2 business categories (code -> label)."""
    engine = current_engine()
    deployment = engine.default_deployment()
    if deployment is None:
        return None, {}
    config = engine.runtime(deployment.id).config
    return deployment.version, {
        str(code): str(label) for code, label in config.get("business_categories", {}).items()
    }


def validate(form: Any, categories: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The cleaned fields and the field errors (translated) of a submitted complaint."""
    values = {
        name: (form.get(name) or "").strip()
        for name in (
            "customer_name",
            "customer_phone",
            "customer_account",
            "business_category",
            "description",
        )
    }
    errors: dict[str, str] = {}
    if not values["customer_name"]:
        errors["customer_name"] = gettext("Please enter your name.")
    elif len(values["customer_name"]) > MAX_NAME:
        errors["customer_name"] = gettext("At most %(count)s characters.", count=MAX_NAME)
    if not values["customer_phone"]:
        errors["customer_phone"] = gettext("Please enter a phone number we can call you on.")
    elif not PHONE.match(values["customer_phone"]):
        errors["customer_phone"] = gettext("Digits only (a leading + and spaces are fine), 5 to 20 of them.")
    if len(values["customer_account"]) > MAX_ACCOUNT:
        errors["customer_account"] = gettext("At most %(count)s characters.", count=MAX_ACCOUNT)
    if values["business_category"] not in categories:
        errors["business_category"] = gettext("Please choose what the complaint is about.")
    if len(values["description"]) < MIN_DESCRIPTION:
        errors["description"] = gettext(
            "Please describe the problem (at least %(count)s characters).", count=MIN_DESCRIPTION
        )
    elif len(values["description"]) > MAX_DESCRIPTION:
        errors["description"] = gettext("At most %(count)s characters.", count=MAX_DESCRIPTION)
    return values, errors


@bp.route("/complain", methods=["GET", "POST"])
@public
def complain():
    version, categories = _categories()
    if version is None:
        return _unavailable()
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":  # CSRFProtect has already refused a POST without a valid token
        values, errors = validate(request.form, categories)
        status = 422
        if not errors:
            submitted = _submit(values, version)
            if submitted is None:
                message = gettext(
                    "Too many complaints from this connection: please try again in an hour or call us."
                )
                errors, status = {"_form": message}, 429
            elif submitted == "":
                return _unavailable()
            else:
                receipt, number = submitted
                return render_template("public_received.html", receipt=receipt, number=number), 201
    return (
        render_template("public_complain.html", values=values, errors=errors, categories=categories),
        status,
    )


def _unavailable():
    message = gettext("Complaints cannot be taken online at the moment. Please call us.")
    return render_template("public_unavailable.html", message=message), 503


class _OverLimit(Exception):
    """Too many submissions from one address: the start is rolled back before it writes anything."""


def _submit(values: dict[str, str], version: int) -> tuple[str, str] | str | None:
    """Start the complaint: ``(receipt, complaint number)``; None over the limit, "" on failure.

    One engine command (issue 15): the rate-limit count, the submission row, the reserved
    number (tasks.records.next_number) and the started instance commit together, so a start
    that fails takes no number (C4: gap-free) and leaves no submission behind. The process
    registers the complaint under that number after the A5 verification call, so the
    customer leaves with the number the complaint will keep. A submission that turns out to
    repeat a complaint still in progress (T2) gives its number up.
    """
    engine = current_engine()
    now, address = engine.clock.now(), (request.remote_addr or "unknown")[:64]
    receipt = new_receipt()
    with engine.reader() as session:
        config = engine.runtime(_deployment_id(session, version)).config
    reserved: dict[str, str] = {}

    def prepare(connection) -> dict[str, str]:
        if submissions_from(connection, address, now) >= PER_ADDRESS:
            raise _OverLimit
        submission = {"receipt": receipt, "address": address, "submitted_at": now}
        connection.execute(insert(WebsiteSubmission).values(**submission))
        accepted = now.astimezone(cfg.branch_zone(config))
        number = records.next_number(connection, cfg.number_prefix(config), accepted)
        reserved["number"] = number
        return {"reserved_complaint_no": number, BUSINESS_KEY: number}

    def record(outcome: Outcome) -> None:
        outcome.connection.execute(
            update(WebsiteSubmission)
            .where(WebsiteSubmission.receipt == receipt)
            .values(instance_id=outcome.result.instance_id)
        )

    data = {
        "channel": CHANNEL,
        "submitted_via": SUBMITTED_VIA,
        "website_receipt": receipt,
        **{name: value for name, value in values.items() if value},
    }
    try:
        engine.start(actor=SUBMITTED_VIA, data=data, version=version, prepare=prepare, record=record)
    except _OverLimit:
        return None
    except EngineError:
        current_app.logger.exception("website complaint: the procedure could not start")
        return ""
    return receipt, reserved["number"]


def _deployment_id(session, version: int) -> int:
    return session.scalar(select(Deployment.id).where(Deployment.version == version))
