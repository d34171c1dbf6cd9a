"""The Flask app: ``create_app(settings)`` wires the engine, login, CSRF and the blueprints.

Settings come from the ``settings`` mapping first, then the environment, then defaults:

``DATABASE_URL``
    as everywhere (``web.system.database_url()``).
``SECRET_KEY``
    signs the session cookie. Without one, a random key is created once in
    ``<instance>/secret_key`` (mode 0600) and reused, so logins survive restarts;
    several app nodes must share one key (set the variable, or share the folder).
``INSTANCE_PATH``
    where that file lives; default ``./instance``, next to the default SQLite file.
``SESSION_COOKIE_SECURE``
    send the session cookie over HTTPS only; off by default so that
    ``http://127.0.0.1`` works, and to be switched on behind TLS.
``SCHEDULER``
    start the timer and warning schedulers in this process (off by default; under
    ``complaints serve`` only the node's scheduler process switches it on, never a
    request worker). Every node may run one: due timers are claimed in the database.
``METRICS_TOKEN``
    enables ``/metrics`` (Prometheus) for requests that send ``Authorization: Bearer
    <token>``; without it ``/metrics`` is 404 (``web.metrics``).
``DISPLAY_TIMEZONE``
    the zone in which pages show instants (default Asia/Shanghai, the procedure's zone;
    the offset is always shown).
``TRUSTED_PROXIES``
    how many reverse proxies stand in front of the app (default 0). With N > 0 the
    client address, scheme and host are read from the last N ``X-Forwarded-*``
    entries (Werkzeug's ``ProxyFix``), so login limits and the public form's limit
    count the real client; with 0 those headers are ignored, as anyone can send them.
``CLOCK``
    (settings only) an ``engine.clock.Clock`` for tests and simulations.

Only this package touches Flask; everything below it gets plain arguments.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, g, jsonify, render_template, request
from flask_babel import get_locale, gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.database_outage import UNAVAILABLE, OutageLog
from web import engine_access
from web.bounded_ints import BadNumber, BoundedIntConverter
from web.engine_access import engine_of
from web.system import build_engine, database_url

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
SECRET_KEY_FILE = "secret_key"
RETRY_AFTER_SECONDS = 10  # a database restart or fail-over usually takes a few seconds

log = logging.getLogger(__name__)

csrf = CSRFProtect()


def create_app(settings: Mapping[str, Any] | None = None) -> Flask:
    settings = dict(settings or {})
    instance_path = Path(_setting(settings, "INSTANCE_PATH") or "instance").resolve()
    app = Flask(__name__, instance_path=str(instance_path))
    app.config.update(
        SESSION_COOKIE_NAME="complaints_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,
    )
    app.config.update({key: value for key, value in settings.items() if key.isupper()})
    app.config.update(
        DATABASE_URL=_setting(settings, "DATABASE_URL") or database_url(),
        SECRET_KEY=_setting(settings, "SECRET_KEY") or _instance_secret_key(instance_path),
        SESSION_COOKIE_SECURE=_flag(_setting(settings, "SESSION_COOKIE_SECURE")),
        SCHEDULER=_flag(_setting(settings, "SCHEDULER")),
        DISPLAY_TIMEZONE=_setting(settings, "DISPLAY_TIMEZONE") or "Asia/Shanghai",
        TRUSTED_PROXIES=_count(_setting(settings, "TRUSTED_PROXIES"), "TRUSTED_PROXIES"),
        METRICS_TOKEN=_setting(settings, "METRICS_TOKEN"),
    )
    app.config["DISPLAY_TZ"] = _zone(app.config["DISPLAY_TIMEZONE"])
    if proxies := app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.url_map.converters["int"] = BoundedIntConverter  # before any route: ids beyond 64 bits are 404

    process_engine = build_engine(app.config["DATABASE_URL"], clock=settings.get("CLOCK"))
    engine_access.install(app, process_engine)
    from web import metrics  # after web.server set PROMETHEUS_MULTIPROC_DIR, if it runs us

    metrics.init_app(app)  # first, so that its timing starts before any other hook answers
    _answer_database_outages(app)

    csrf.init_app(app)
    from web import (
        access,
        admin,
        admin_users,
        api,
        auth,
        clock_names,
        diagrams,
        error_pages,
        health,
        i18n,
        instance_page,
        intake,
        modeler,
        modeler_settings,
        notifications,
        overview,
        progress,
        public,
        reports,
        search,
        tracking,
        value_labels,
        whatif,
        work,
    )

    auth.init_app(app)
    i18n.init_app(app)
    access.init_app(app)  # ``may`` in templates: the access policy's answers for links and buttons
    app.register_blueprint(auth.bp)
    error_pages.init_app(app)  # 403/404/500 in the layout, translated, with a way back
    app.register_blueprint(health.bp)
    app.register_blueprint(overview.bp)
    app.register_blueprint(work.bp)
    app.register_blueprint(instance_page.bp)
    app.register_blueprint(diagrams.bp)  # /versions/<n>/diagrams.json: the viewers' diagrams, cached for good
    app.register_blueprint(search.bp)  # /complaints/search: every complaint one may open (issue 13)
    app.register_blueprint(tracking.bp)  # /complaints/mine (A1), /complaints/escalated (T6)
    app.register_blueprint(intake.bp)  # /intake/lookup: T2/T3 while the phone is typed
    app.register_blueprint(public.bp)  # /complain: the website channel, no account (A5)
    app.register_blueprint(progress.bp)  # /progress: a customer checks their complaint, no account
    app.register_blueprint(admin.bp)  # /admin: versions, migration
    app.register_blueprint(admin_users.bp)  # /admin/users: accounts and API tokens
    notifications.init_app(app)  # /notifications and the bell: warnings before a breach
    app.register_blueprint(modeler.bp)  # /modeler: drafts, upload, submit, deploy
    app.register_blueprint(modeler_settings.bp)  # /modeler/drafts/<id>/settings, calendar-test: owners' forms
    app.register_blueprint(whatif.bp)  # /modeler/drafts/<id>/whatif: the draft replayed on history
    app.register_blueprint(reports.bp)  # /reports: on-time rate, Annex 1 volumes, heat map
    csrf.exempt(api.bp)  # token-authenticated: no cookies, so no cross-site requests to forge
    app.register_blueprint(api.bp)

    app.add_template_filter(_format_instant(app.config["DISPLAY_TZ"]), "instant")
    app.add_template_filter(clock_names.clock_name, "clock_name")
    value_labels.init_app(app)  # codes by their config labels, yes/no, instants, time left
    app.after_request(_security_headers)

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        message = "The form expired or did not come from this site. Reload the page and retry."
        return render_template("error.html", title="Request refused", message=message), 400

    @app.errorhandler(BadNumber)
    def bad_number(error: BadNumber):
        message = gettext(
            "%(field)s: a whole number from %(minimum)s to %(maximum)s",
            field=error.field,
            minimum=error.minimum,
            maximum=error.maximum,
        )
        return render_template("error.html", title=gettext("Bad request"), message=message), 400

    if app.config["SCHEDULER"]:
        _start_scheduler(app)
    return app


# ---------------------------------------------------------------------- scheduler


def _start_scheduler(app: Flask) -> None:
    """The node's one scheduler: the engine's timers, then the jobs of the layers above."""
    from engine.scheduler import NodeScheduler, outbox_job, timer_job
    from web.metrics import FiringObserver
    from web.warning_job import warning_job

    engine = engine_of(app)
    scheduler = NodeScheduler()
    scheduler.register(timer_job(engine, after_pass=FiringObserver(engine)))
    scheduler.register(outbox_job(engine))  # follow-ups a crash or a failure left pending
    scheduler.register(warning_job(app))  # warnings before a breach: every minute and at the next instant
    scheduler.start()  # returns at once; what fell due while down runs in the background
    app.extensions["node_scheduler"] = scheduler
    atexit.register(stop_scheduler, app)


def stop_scheduler(app: Flask) -> None:
    """Stop this process's scheduler, letting a running pass finish; twice is harmless."""
    scheduler = app.extensions.pop("node_scheduler", None)
    if scheduler is not None:
        scheduler.shutdown()


# ---------------------------------------------------------------------- database outage


def _answer_database_outages(app: Flask) -> None:
    """While the database is away: 503 with Retry-After, and one log line as it goes and comes back."""
    outage = OutageLog(log, "web requests")
    app.extensions["database_outage"] = outage
    engine = engine_of(app)

    def unavailable(error: Exception):
        from web.metrics import DATABASE_ERRORS

        g.database_failed = True
        DATABASE_ERRORS.labels("web").inc()
        outage.failed(error)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        message = gettext("The database is not available at the moment. Please try again in a minute.")
        if request.path.startswith("/api/"):
            return jsonify({"error": message}), 503, headers
        # Rendered without the context processors: they would ask the database again.
        page = app.jinja_env.get_template("unavailable.html").render(
            message=message, current_language=str(get_locale() or "en")
        )
        return page, 503, headers

    for kind in UNAVAILABLE:
        app.register_error_handler(kind, unavailable)

    @app.after_request
    def notice_recovery(response):
        if outage.down and not g.get("database_failed"):
            try:
                with engine.reader() as session:
                    session.execute(text("SELECT 1"))
            except UNAVAILABLE:
                pass  # still away: already logged
            else:
                outage.recovered()
        return response


# ---------------------------------------------------------------------- settings


def _setting(settings: Mapping[str, Any], name: str) -> Any:
    if name in settings and settings[name] not in (None, ""):
        return settings[name]
    return os.environ.get(name) or None


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in TRUE_WORDS
    return bool(value)


def _count(value: Any, name: str) -> int:
    text = str(value if value is not None else 0).strip()
    if not text.isdigit() or int(text) > 10:
        raise ValueError(f"{name}: a whole number from 0 to 10, not {value!r}")
    return int(text)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"DISPLAY_TIMEZONE: unknown time zone {name!r}") from None


def _instance_secret_key(instance_path: Path) -> str:
    """The key in ``instance_path/secret_key``, created (0600) on first use.

    The new key is written to a private temporary file and hard-linked into place, so
    the file appears complete or not at all, and when several processes start at once
    exactly one key wins and all of them read it.
    """
    path = instance_path / SECRET_KEY_FILE
    for _ in range(50):
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            key = ""
        if key:
            return key
        if not path.exists():
            instance_path.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
            try:
                with os.fdopen(descriptor, "w") as handle:  # mkstemp creates it 0600
                    handle.write(secrets.token_hex(32) + "\n")
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process won the race: read its key
            finally:
                os.unlink(temporary)
        else:
            time.sleep(0.01)  # an empty file someone else is still writing
    raise RuntimeError(f"{path} is empty: delete it or set SECRET_KEY")


# ---------------------------------------------------------------------- rendering


def _format_instant(zone: ZoneInfo):
    def instant(value: datetime | None, empty: str = "—") -> str:
        if value is None:
            return empty
        local = value.astimezone(zone)
        offset = local.strftime("%z")
        offset = "UTC" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"
        return f"{local:%Y-%m-%d %H:%M} {offset}"

    return instant


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    )
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
