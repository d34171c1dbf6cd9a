"""E-mail through SMTP, configured by environment variables; off when ``SMTP_HOST`` is unset.

``SMTP_HOST``, ``SMTP_PORT`` (25), ``SMTP_FROM`` (``complaints@<host>``), ``SMTP_USER`` and
``SMTP_PASSWORD`` (log in when both are set), ``SMTP_STARTTLS`` (1: upgrade the connection),
``SMTP_TIMEOUT`` (seconds, 10). Sending raises :class:`MailError`; callers decide what a
failure means (a notification is kept and marked, never lost).
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage


class MailError(RuntimeError):
    """The SMTP server refused the message or could not be reached."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = ""
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


def settings_from(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP settings of the environment, or None when e-mail is not configured."""
    environ = os.environ if environ is None else environ
    host = (environ.get("SMTP_HOST") or "").strip()
    if not host:
        return None
    try:
        port = int(environ.get("SMTP_PORT") or 25)
        timeout = float(environ.get("SMTP_TIMEOUT") or 10)
    except ValueError as error:
        raise ValueError(f"SMTP_PORT / SMTP_TIMEOUT: not a number ({error})") from None
    return SmtpSettings(
        host=host,
        port=port,
        sender=environ.get("SMTP_FROM") or f"complaints@{host}",
        user=environ.get("SMTP_USER") or None,
        password=environ.get("SMTP_PASSWORD") or None,
        starttls=(environ.get("SMTP_STARTTLS") or "").strip().lower() in {"1", "true", "yes", "on"},
        timeout=timeout,
    )


def send(settings: SmtpSettings, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"{settings.host}:{settings.port}: {error}") from error
