"""``/reports``: the on-time rate (L7), Annex 1 volumes (C4), clocks at risk, the diagram heat map.

Supervisors and admins only. Every table of the page is built once by :func:`build_tables`
and served three ways: on the page, as CSV (UTF-8 with a BOM, so spreadsheet programs read
the Chinese labels) and as XLSX (openpyxl). The figures come from ``tasks.reports``; labels
of categories, channels and departments from the procedure config of the default version.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user

from engine.diagram_index import DiagramIndex
from tasks import config as cfg
from tasks import reports
from web import access, engine_access
from web.clock_names import clock_name, clock_order
from web.diagrams import version_diagrams
from web.engine_access import current_engine

bp = Blueprint("reports", __name__, url_prefix="/reports")


BREAKDOWN_NAMES = {
    "department": lazy_gettext("Department"),
    "type_flag": lazy_gettext("Type"),
    "channel": lazy_gettext("Channel"),
    "business_category": lazy_gettext("Business category"),
    "nature_category": lazy_gettext("Nature category"),
    "month": lazy_gettext("Month"),
}

TABLE_NAMES = ("on_time", "breakdown", "by_month", "business", "nature", "channels", "at_risk", "heat")


@dataclass
class Table:
    """One table of the report: a title, column headings and rows of plain values."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@bp.before_request
def readers_only():
    if not current_user.is_authenticated:
        return None  # the app-wide login check answers first
    if not access.may_read_reports(current_user):
        abort(403)
    return None


def _config() -> Mapping[str, Any]:
    return engine_access.default_config()


class BadRequest(ValueError):
    """A query parameter that cannot be read; the message names it."""


def _date(name: str, default: date) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(_("%(field)s: not a date, write YYYY-MM-DD", field=name)) from None


def _query(today: date) -> tuple[reports.Period, str, float | None]:
    fallback = reports.default_period(today)
    start, end = _date("from", fallback.start), _date("to", fallback.end)
    if start > end:
        raise BadRequest(_("from: the period must start on or before 'to'"))
    breakdown = request.args.get("by", "department").strip()
    if breakdown not in reports.BREAKDOWNS:
        raise BadRequest(_("by: unknown breakdown %(value)s", value=breakdown))
    text = request.args.get("fraction", "").strip()
    try:
        fraction = float(text) if text else None  # None: each clock's [warnings] share
    except ValueError:
        raise BadRequest(_("fraction: not a number")) from None
    if fraction is not None and not 0 < fraction <= 1:
        raise BadRequest(_("fraction: must be more than 0 and at most 1"))
    return reports.Period(start, end), breakdown, fraction


def _labels(config: Mapping[str, Any], breakdown: str) -> dict[str, str]:
    table = {
        "department": "departments",
        "channel": "channels",
        "business_category": "business_categories",
        "nature_category": "nature_categories",
        "type_flag": "complaint_types",
    }.get(breakdown)
    found = {}
    for code, entry in (config.get(table) or {}).items() if table else ():
        found[code] = str(entry.get("label", code)) if isinstance(entry, Mapping) else str(entry)
    return found


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _on_time_rows(rows: list[reports.OnTime], label=None) -> list[list[Any]]:
    return [
        [clock_name(row.clock)]
        + ([label(row.value)] if label else [])
        + [row.measured, row.met, row.missed, _percent(row.rate), _minutes(row.average_late_s), row.extended]
        for row in rows
    ]


def build_tables(
    connection, config, period, breakdown, fraction, now: datetime
) -> tuple[dict[str, Table], Any]:
    figures = [
        _("Measured"),
        _("Met"),
        _("Missed"),
        _("On time %"),
        _("Average late (min)"),
        _("Extended (E3)"),
    ]
    labels = _labels(config, breakdown)
    none = _("(none)")

    def label(value: str) -> str:
        return labels.get(value, value) or none

    tables = {
        "on_time": Table("on_time", _("On-time rate per clock (L7)"), [_("Clock"), *figures]),
        "breakdown": Table(
            "breakdown",
            _("On-time rate by %(breakdown)s", breakdown=BREAKDOWN_NAMES[breakdown]),
            [_("Clock"), str(BREAKDOWN_NAMES[breakdown]), *figures],
        ),
        "by_month": Table("by_month", _("On-time rate by month"), [_("Clock"), _("Month"), *figures]),
    }
    order = clock_order()  # as the procedure runs into the clocks (the deployed catalogue)
    tables["on_time"].rows = _on_time_rows(reports.on_time(connection, period, "all", order))
    tables["breakdown"].rows = _on_time_rows(reports.on_time(connection, period, breakdown, order), label)
    tables["by_month"].rows = _on_time_rows(reports.on_time(connection, period, "month", order), str)

    volumes = reports.volumes(connection, period, config)
    for name, title, counts, dimension in (
        ("business", _("Complaints by business category (C2)"), volumes.by_business, "business_category"),
        ("nature", _("Complaints by nature category (C3)"), volumes.by_nature, "nature_category"),
    ):
        names = _labels(config, dimension)
        rows = [[names.get(code, code) or none, count] for code, count in counts.items()]
        rows.append([_("Total"), sum(counts.values())])
        tables[name] = Table(name, title, [_("Category"), _("Complaints")], rows)
    channel_names = _labels(config, "channel")
    channels = Table("channels", _("Complaints by channel (C1)"), [_("Channel"), _("Complaints")])
    channels.rows = [[channel_names.get(code, code) or none, n] for code, n in volumes.by_channel.items()]
    channels.rows.append([_("Escalation channels, subtotal"), volumes.escalation_total])
    channels.rows.append([_("Media, subtotal"), volumes.media_total])
    channels.rows.append([_("Went over the company's head (C5), subtotal"), volumes.over_head_total])
    channels.rows.append([_("Transferred from an outside unit (C5), subtotal"), volumes.escalated_total])
    channels.rows.append([_("Total"), volumes.total])
    tables["channels"] = channels

    department_names = _labels(config, "department")
    at_risk = Table(
        "at_risk",
        _("Open complaints overdue or about to be"),
        [
            _("Complaint"),
            _("Clock"),
            _("Round"),
            _("Department"),
            _("Started"),
            _("Due"),
            _("Time used %"),
            _("State"),
        ],
    )
    zone = cfg.branch_zone(config)
    for row in reports.at_risk(connection, now, fraction):  # None: each clock row's warn_at
        at_risk.rows.append(
            [
                row.number,
                clock_name(row.clock),
                row.round,
                department_names.get(row.department, row.department) or none,
                row.started_at.astimezone(zone).isoformat(timespec="minutes"),
                row.due_at.astimezone(zone).isoformat(timespec="minutes"),
                round(100 * row.elapsed),
                _("overdue") if row.overdue else _("about to breach"),
            ]
        )
    tables["at_risk"] = at_risk
    heat = Table(
        "heat",
        _("Time spent per diagram element (closed complaints)"),
        [_("Element"), _("Tasks"), _("Average (min)"), _("Done late")],
    )
    heat.rows = [
        [row.element_id, row.tasks, _minutes(row.average_s), row.late]
        for row in reports.heat(connection, period)
    ]
    tables["heat"] = heat
    return tables, volumes


def _gather():
    engine = current_engine()
    config = _config()
    now = engine.clock.now()
    today = now.astimezone(cfg.branch_zone(config)).date()
    period, breakdown, fraction = _query(today)
    with engine.reader() as session:
        tables, volumes = build_tables(session.connection(), config, period, breakdown, fraction, now)
    return tables, volumes, period, breakdown, fraction


@bp.route("")
def reports_page():
    try:
        tables, volumes, period, breakdown, fraction = _gather()
    except BadRequest as problem:
        return render_template("reports.html", error=str(problem), tables=None, args=request.args), 400
    charts = {
        "onTime": {
            "labels": [row[0] for row in tables["on_time"].rows],
            "values": [row[4] for row in tables["on_time"].rows],
            "label": _("On time %"),
        },
        "business": {
            "labels": [row[0] for row in tables["business"].rows[:-1]],
            "values": [row[1] for row in tables["business"].rows[:-1]],
            "label": _("Complaints"),
        },
        "months": _month_series(tables["by_month"].rows),
    }
    heat = {row[0]: {"tasks": row[1], "minutes": row[2], "late": row[3]} for row in tables["heat"].rows}
    version = _default_version()
    viewer = None
    if version is not None:
        heat.update(heat_of_call_activities(heat, version.index))
        url = url_for("diagrams.diagrams_json", version=version.version)
        viewer = json.dumps({"diagramsUrl": url, "heat": heat})
    return render_template(
        "reports.html",
        error=None,
        tables=tables,
        volumes=volumes,
        period=period,
        breakdown=breakdown,
        breakdowns=BREAKDOWN_NAMES,
        fraction=fraction,
        charts=json.dumps(charts, ensure_ascii=False),
        heat_viewer=viewer,
        args=request.args,
    )


def _default_version():
    """The default version's diagrams, indexed once per node (web/diagrams.py): the heat map
    draws them and sums its call activities from the same index, no XML parsed per view.

    The rollups are per element id and ids are unique across a version's files, so each
    diagram shows the badges of its own elements; any diagram is opened by the picker.
    """
    found = engine_access.default_deployment()
    return None if found is None else version_diagrams(current_engine(), deployment_id=found.id)


def _month_series(rows: list[list[Any]]) -> dict[str, Any]:
    months = sorted({row[1] for row in rows})
    series: dict[str, dict[str, Any]] = {}
    for row in rows:
        series.setdefault(row[0], {})[row[1]] = row[5]
    return {
        "labels": months,
        "series": [
            {"label": clock, "values": [values.get(m) for m in months]} for clock, values in series.items()
        ],
    }


@bp.route("/<name>.<fmt>")
def export(name: str, fmt: str):
    if name not in TABLE_NAMES or fmt not in ("csv", "xlsx"):
        abort(404)
    try:
        tables, _volumes, period, _breakdown, _fraction = _gather()
    except BadRequest as problem:
        return Response(str(problem) + "\n", status=400, mimetype="text/plain")
    table = tables[name]
    filename = f"{name}-{period.start.isoformat()}-{period.end.isoformat()}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(_csv(table), mimetype="text/csv; charset=utf-8", headers=disposition)
    return Response(
        _xlsx(table),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=disposition,
    )


def _csv(table: Table) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(table.columns)
    writer.writerows(["" if value is None else value for value in row] for row in table.rows)
    return out.getvalue()


def _xlsx(table: Table) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = table.name
    sheet.append([str(column) for column in table.columns])
    for row in table.rows:
        sheet.append([str(value) if hasattr(value, "__html__") else value for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def heat_of_call_activities(
    heat: Mapping[str, Mapping[str, Any]], index: DiagramIndex
) -> dict[str, dict[str, Any]]:
    """The map draws each path as one call activity: its figures sum the elements of the
    process it calls, so the heat map shows where the time goes at the level of the map (a
    path's own diagram shows its elements). Figures are kept per element id, so a process
    called from two places (handling from the map and from the escalation path) counts
    under each caller's own call activity only for its own elements."""
    if not heat:
        return {}
    inside: dict[str, list[str]] = {}
    for element, process in index.process_of.items():
        inside.setdefault(process, []).append(element)
    summed: dict[str, dict[str, Any]] = {}
    for call_id, site in index.calls.items():
        rows = [heat[element] for element in inside.get(site.called, ()) if element in heat]
        tasks = sum(row["tasks"] for row in rows)
        if tasks:
            total = sum(row["minutes"] * row["tasks"] for row in rows)
            late = sum(row["late"] for row in rows)
            summed[call_id] = {"tasks": tasks, "minutes": round(total / tasks), "late": late}
    return summed
