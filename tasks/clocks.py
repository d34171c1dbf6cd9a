"""Named deadline clocks per complaint (L7), and the rollups the reports read.

Every deadline of the procedure is a *clock* of a complaint: ``L1`` first reply, ``L2``
dispatch, ``L4`` handling, ``R4`` reply, ``L6`` the R6 call-back window, ``T7`` the report
back to the outside unit (E4), and whatever clock a later version measures. A clock is
started, has a due instant (moved by E3 extensions: the first due is kept too), is stopped
when the guarded work is done, and is then met or missed by ``late_by_s`` seconds.

Nothing here decides a deadline: the clocks are what the diagrams' timers say
(``engine.clock_outcomes`` over ``engine.running_clocks``, one in-memory walk per command,
no query): a row starts when its timer was armed (L1 at receipt although the record is
written at numbering), its due is the timer's, it stops when the guarded activity completes
(or an element carrying ``stops_clock``), met or missed against the due in force; a waiting
timer on the carried due makes it run again after an E5 return (the last accepted work
counts); a later carried due re-armed is an E3 extension (first due kept); a path run again
from the map is a new V1 round; an interrupting timer (L6's window) stops its clock, missed,
when it fires. L1's stop (the first reply, recorded by the domain) comes from the data. So a clock or a
department a new version adds flows through without a code change (docs/clock-outcomes.md).

This is the ONE running-clocks read model (issue 10): the inbox colour, the complaint page,
the warning sweep, the at-risk report and the on-time rates all read ``complaint_clocks``
(``tasks.clock_marks``, ``tasks.warning_sweep``, ``tasks.reports``). ``warn_at`` is computed once
here (``tasks.warning_share``: the ``[warnings]`` share, in working time for a figure on a
calendar).

Four tables (``tasks.clock_tables``), written by :func:`project_clocks` in the command's
transaction (called by the complaint projection, ``tasks.complaint_projection.project_complaint``):

* ``complaint_clocks``: one narrow row per complaint, clock and round, with the complaint's
  report dimensions copied in (department, channel, categories, type flags, period), so
  the rollups can be rebuilt, and any drill-down made, from this table alone.
* ``clock_rollups``: per acceptance day, clock, dimension and value: clocks measured, met,
  seconds late in total, extended. The on-time report sums a few hundred of these rows
  instead of scanning millions of clocks (docs/reports.md has the measurements).
* ``complaint_volumes``: per acceptance day, dimension and value: complaints (Annex 1, C4).
* ``element_rollups``: per acceptance day and diagram element: tasks done, seconds they
  took, tasks done after their due instant, added once when the complaint closes.

The rollups are maintained by difference: the old contribution of a changed row is taken
away and the new one added, so a re-measured clock (E5 resubmission) or a corrected
category never counts twice. :func:`rebuild_rollups` recomputes them from the rows (for a
backfill, and to check the incremental upkeep in tests).

No hot rows on PostgreSQL (issue 16): every complaint accepted on a day adds to the same
few rollup rows (the day's total, its channel...), so updating them in place made every
command in the cluster wait for the one before. There a command *appends* its differences
to the rollup's delta table (``*_deltas``, rows nobody else writes) and, only if no other
transaction is folding (a try-lock that never waits), folds the deltas committed so far into
the rollup rows. Reports read rollup plus deltas (:func:`with_deltas`), so the figures are
exact whether folded or not. SQLite has one writer at a time anyway: there the rollup rows
are updated in place and the delta tables stay empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import cache
from typing import Any

from sqlalchemy import Integer, delete, func, insert, select, text

from engine.clock_outcomes import MET as TIMER_MET
from engine.clock_outcomes import RUNNING as TIMER_RUNNING
from engine.clock_outcomes import clock_outcomes
from engine.db import Base
from engine.driver_sql import DriverSql, read_instant
from engine.models import UTCDateTime
from tasks.clock_tables import (
    DELTAS,
    DIMENSIONS,
    MET,
    MISSED,
    ROLLUP_KEYS,
    RUNNING,
    UNMEASURED,
    VOLUME_DIMENSIONS,
    ClockRollup,
    ClockRollupDelta,
    ComplaintClock,
    ComplaintVolume,
    ComplaintVolumeDelta,
    ElementRollup,
    ElementRollupDelta,
    with_deltas,
)
from tasks.deadlines import instant_or_none
from tasks.warning_share import warn_at

__all__ = [  # the tables and names callers read through this module
    "DELTAS", "DIMENSIONS", "MET", "MISSED", "ROLLUP_KEYS", "RUNNING", "UNMEASURED", "VOLUME_DIMENSIONS",
    "ClockRollup", "ClockRollupDelta", "ComplaintClock", "ComplaintVolume", "ComplaintVolumeDelta",
    "ElementRollup", "ElementRollupDelta", "with_deltas", "project_clocks", "rebuild_rollups", "fold",
]  # fmt: skip

# One transaction at a time folds deltas into the rollup rows (pg_try_advisory_xact_lock's key).
_FOLD_LOCK = 7_316_001
FOLD_BATCH = 5000  # deltas folded by one command at most: its extra work stays bounded


# ----------------------------------------------------------------------------- reading the clocks


def _status(met: Any) -> str:
    return RUNNING if met is None else (MET if met else MISSED)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.get("due") == b.get("due") and a.get("done_at") == b.get("done_at")


def timed_entries(readings: Any, measured: Mapping[str, Any]) -> dict[tuple[str, int], dict]:
    """The clocks the diagram's timers measure, ``{(clock, round): entry}`` (``engine.clock_outcomes``).

    The timers give start, due, first due, extensions and, for a boundary timer, the stop and
    outcome. A clock whose timer cannot see its stop (an event subprocess's timer start: L1's
    first reply may come from any path) takes the stop the domain measured for the same due
    (``measured``: clock -> ``{due, done_at, met, late_by_s}``).
    """
    entries: dict[tuple[str, int], dict] = {}
    for key, outcome in clock_outcomes(readings).items():
        entry = {
            "due": outcome.due_at,
            "first_due": outcome.first_due_at,
            "extensions": outcome.extensions,
            "started_at": outcome.started_at,
            "figure": outcome.figure,
            "done_at": outcome.stopped_at,
            "met": None if outcome.status == TIMER_RUNNING else outcome.status == TIMER_MET,
            "late_by_s": outcome.late_by_s,
        }
        domain = measured.get(key[0])
        if (
            entry["met"] is None
            and outcome.kind != "boundary"
            and isinstance(domain, Mapping)
            and domain.get("done_at")
            and instant_or_none(domain.get("due")) == outcome.due_at
        ):
            entry.update(done_at=domain["done_at"], met=domain.get("met"), late_by_s=domain.get("late_by_s"))
        entries[key] = entry
    return entries


def clock_entries(data: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[tuple[str, int], dict]:
    """Clocks no timer of the diagram measures, from the data, ``{(clock, round): entry}``.

    Only for a clock measured by a script (``deadline_outcome`` into ``deadlines``) that has
    no timer yet, and for a clock whose timer has gone from the workflow: ``summary`` is the
    record's deadline summary of those. V1: ``earlier_deadlines`` holds each earlier round's
    outcomes; a clock of the summary identical to an earlier round's keeps that round; a
    clock measured in an earlier round and again now is the current round's; any other
    clock belongs to round 1.
    """
    earlier = [dict(entry) for entry in data.get("earlier_deadlines") or [] if isinstance(entry, Mapping)]
    current = int(data.get("dispatch_round") or 1)
    wanted = set(summary)
    entries: dict[tuple[str, int], dict] = {}
    for number, outcomes in enumerate(earlier, start=1):
        for clock, entry in outcomes.items():
            if clock in wanted and isinstance(entry, Mapping) and entry.get("due"):
                entries[(clock, number)] = dict(entry)
    seen_earlier = {clock for clock, _ in entries}
    for clock, entry in summary.items():
        if not isinstance(entry, Mapping) or not entry.get("due"):
            continue
        same_round = [n for n, outcomes in enumerate(earlier, 1) if _same(outcomes.get(clock) or {}, entry)]
        if same_round:
            continue
        entries[(clock, current if clock in seen_earlier else 1)] = dict(entry)
    return entries


# ----------------------------------------------------------------------------- contributions


def _values(row: Mapping[str, Any], dimension: str) -> list[str]:
    if dimension == "all":
        return [""]
    if dimension == "type_flag":
        return [flag for flag in (row.get("type_flags") or "").split(",") if flag]
    return [row.get(dimension) or ""]


def _clock_contribution(row: Mapping[str, Any] | None) -> Counter:
    """What one clock row adds to ``clock_rollups``: keyed, four counters per key."""
    found: Counter = Counter()
    if row is None or row["status"] not in (MET, MISSED):
        return found
    for dimension in DIMENSIONS:
        for value in _values(row, dimension):
            key = (row["period"], row["clock"], dimension, value)
            found[(*key, "measured")] += 1
            found[(*key, "met")] += row["status"] == MET
            found[(*key, "late_s")] += row["late_by_s"] or 0.0
            found[(*key, "extended")] += row["extensions"] > 0
    return found


def _volume_contribution(complaint: Mapping[str, Any] | None) -> Counter:
    found: Counter = Counter()
    if complaint is None or not complaint.get("period"):
        return found
    for dimension in VOLUME_DIMENSIONS:
        for value in _values(complaint, dimension):
            found[(complaint["period"], dimension, value, "complaints")] += 1
    return found


_UPSERTS: dict[str, Any] = {}


def _upsert(table: type[Base], keys: tuple[str, ...]):
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter``.

    Plain SQL that SQLite and PostgreSQL both speak, built once: SQLAlchemy's dialect
    ``on_conflict_do_update`` has no cache key, so it was compiled again on every command.
    """
    name = table.__tablename__
    found = _UPSERTS.get(name)
    if found is None:
        columns = [column.key for column in table.__table__.c]
        counters = [column for column in columns if column not in keys]
        found = text(
            f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = {name}.{c} + excluded.{c}" for c in counters)
        )
        _UPSERTS[name] = found
    return found


@cache
def _upsert_sql(table: type[Base], keys: tuple[str, ...]) -> str:
    return str(_upsert(table, keys))


def _add(connection: Any, table: type[Base], keys: tuple[str, ...], delta: Counter) -> None:
    """Apply counter differences to a rollup: in place on SQLite, as deltas on PostgreSQL (see above)."""
    grouped: dict[tuple, dict[str, float]] = {}
    for key, amount in delta.items():
        if amount:
            grouped.setdefault(key[: len(keys)], {})[key[len(keys)]] = amount
    if not grouped:
        return
    counters = [column.key for column in table.__table__.c if column.key not in keys]
    rows = [
        {**dict(zip(keys, key, strict=True)), **{name: amounts.get(name, 0) for name in counters}}
        for key, amounts in grouped.items()
    ]
    if connection.dialect.name != "postgresql":
        DriverSql(connection).many(_upsert_sql(table, keys), rows)
        return
    connection.execute(insert(DELTAS[table]), rows)
    if connection.execute(text(f"SELECT pg_try_advisory_xact_lock({_FOLD_LOCK})")).scalar():
        fold(connection, table)


def fold(connection: Any, table: type[Base]) -> int:
    """Move up to ``FOLD_BATCH`` deltas this transaction sees into the rollup rows; returns how many.

    The caller holds the fold lock (PostgreSQL), so the deltas it reads are deleted by
    exactly their ids and none is counted twice or lost.
    """
    keys = ROLLUP_KEYS[table]
    delta_table = DELTAS[table].__table__
    counters = [column.key for column in table.__table__.c if column.key not in keys]
    rows = connection.execute(select(delta_table).order_by(delta_table.c.id).limit(FOLD_BATCH)).all()
    if not rows:
        return 0
    totals: dict[tuple, dict[str, float]] = {}
    for row in rows:
        mapping = row._mapping
        amounts = totals.setdefault(tuple(mapping[name] for name in keys), dict.fromkeys(counters, 0))
        for name in counters:
            amounts[name] += mapping[name]
    folded = [{**dict(zip(keys, key, strict=True)), **amounts} for key, amounts in totals.items()]
    connection.execute(_upsert(table, keys), folded)
    connection.execute(delete(delta_table).where(delta_table.c.id.in_([row.id for row in rows])))
    return len(rows)


# ----------------------------------------------------------------------------- the projection


def _period(accepted_at: datetime | None, zone: tzinfo | None) -> str | None:
    if accepted_at is None:
        return None
    return (accepted_at.astimezone(zone) if zone is not None else accepted_at).date().isoformat()


def complaint_dimensions(values: Mapping[str, Any], zone: tzinfo | None) -> dict[str, Any]:
    """The report dimensions of a complaint record's values (or a ``Complaint`` row's)."""
    get = values.get if isinstance(values, Mapping) else lambda name: getattr(values, name, None)
    return {
        "period": _period(instant_or_none(get("accepted_at")), zone),
        "channel": get("channel") or "",
        "business_category": get("business_category") or "",
        "nature_category": get("nature_category") or "",
        "type_flags": get("type_flags") or "",
    }


# Statements of the projection, written once as plain SQL for the driver (engine.driver_sql):
# they run on every command, and SQLAlchemy's statement handling cost more than SQLite's work.
_CLOCK_COLUMNS = tuple(column.key for column in ComplaintClock.__table__.c)
_CLOCK_INSTANTS = frozenset(
    column.key for column in ComplaintClock.__table__.c if isinstance(column.type, UTCDateTime)
)
_WRITTEN_CLOCK = tuple(name for name in _CLOCK_COLUMNS if name != "id")
_SELECT_CLOCKS = f"SELECT {', '.join(_CLOCK_COLUMNS)} FROM complaint_clocks WHERE instance_id = :of_instance"
_INSERT_CLOCK = (
    f"INSERT INTO complaint_clocks ({', '.join(_WRITTEN_CLOCK)}) "
    f"VALUES ({', '.join(':' + name for name in _WRITTEN_CLOCK)})"
)
_UPDATE_CLOCK = "UPDATE complaint_clocks SET {} WHERE id = :row_id".format(
    ", ".join(f"{name} = :{name}" for name in _WRITTEN_CLOCK)
)


def _clock_row(values: Any) -> dict[str, Any]:
    row = dict(zip(_CLOCK_COLUMNS, values, strict=True))
    for name in _CLOCK_INSTANTS:
        row[name] = read_instant(row[name])
    return row


def _clock_params(sql: DriverSql, row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: sql.instant(value) if name in _CLOCK_INSTANTS else value for name, value in row.items()}


def project_clocks(
    connection: Any,
    *,
    instance_id: int,
    data: Mapping[str, Any],
    summary: Mapping[str, Any],
    values: Mapping[str, Any],
    previous: Any,
    now: datetime,
    zone: tzinfo | None,
    readings: Any = (),
    config: Mapping[str, Any] | None = None,
) -> dict[tuple[str, int], dict]:
    """Keep the complaint's clock rows and the rollups in step (L7), in the command's transaction.

    ``values`` are the complaint record's new values, ``previous`` its row before this
    command (None for a new record), ``summary`` its deadline summary (L1 included).
    ``readings`` are the diagram's clock timers (``engine.running_clocks``): a new row starts
    when its timer was armed, so L1 starts at receipt although the record is written later.
    """
    dimensions = complaint_dimensions(values, zone)
    before = complaint_dimensions(previous, zone) if previous is not None else None
    if before != dimensions:
        delta = _volume_contribution(dimensions)
        delta.subtract(_volume_contribution(before))
        _add(connection, ComplaintVolume, ("period", "dimension", "value"), delta)
    if dimensions["period"] is None:
        return {}
    dimensions["department"] = data.get("department") or ""
    sql = DriverSql(connection)
    existing = {
        (row["clock"], row["round"]): row
        for row in map(_clock_row, sql.all(_SELECT_CLOCKS, of_instance=instance_id))
    }
    entries = timed_entries(readings, summary)
    timed = {clock for clock, _ in entries}
    untimed = {clock: entry for clock, entry in summary.items() if clock not in timed}
    entries.update(clock_entries(data, untimed))
    closed = values.get("status") == "closed"
    delta: Counter = Counter()
    inserts = []
    for (clock, number), entry in entries.items():
        due = instant_or_none(entry["due"])
        old = existing.pop((clock, number), None)
        started = old["started_at"] if old else (entry.get("started_at") or now)
        status = _status(entry.get("met"))
        if status == RUNNING and closed:
            status = UNMEASURED
        late = entry.get("late_by_s")
        new = {
            "instance_id": instance_id,
            "clock": clock,
            "round": number,
            "status": status,
            "started_at": started,
            "due_at": due,
            "first_due_at": instant_or_none(entry.get("first_due")) or (old["first_due_at"] if old else due),
            "warn_at": (
                warn_at(config, clock, entry.get("figure"), started, due) if config is not None else None
            ),
            "extensions": entry.get("extensions") or (old["extensions"] if old else 0),
            "stopped_at": instant_or_none(entry.get("done_at")),
            "late_by_s": None if late is None else float(late),
            **dimensions,
        }
        if old is not None and all(old[name] == value for name, value in new.items()):
            continue
        delta.update(_clock_contribution(new))
        delta.subtract(_clock_contribution(old))
        if old is None:
            inserts.append(new)
        else:
            sql.run(_UPDATE_CLOCK, row_id=old["id"], **_clock_params(sql, new))
    if inserts:
        sql.many(_INSERT_CLOCK, (_clock_params(sql, row) for row in inserts))
    for left in existing.values():  # a clock whose timer has gone and that the data does not carry
        if closed and left["status"] == RUNNING:
            new = {**{k: v for k, v in left.items() if k != "id"}, "status": UNMEASURED, **dimensions}
            sql.run(_UPDATE_CLOCK, row_id=left["id"], **_clock_params(sql, new))
    _add(connection, ClockRollup, ("period", "clock", "dimension", "value"), delta)
    if closed and (previous is None or previous.status != "closed"):
        _count_elements(connection, instance_id, dimensions["period"])
    return entries


def _count_elements(connection: Any, instance_id: int, period: str) -> None:
    """Heat map: the complaint's completed tasks, once, when it closes."""
    rows = DriverSql(connection).all(
        "SELECT element_id, created_at, completed_at, due_at FROM human_tasks "
        "WHERE instance_id = :id AND status = 'completed' AND completed_at IS NOT NULL",
        id=instance_id,
    )
    delta: Counter = Counter()
    for element_id, *instants in rows:
        created, completed, due = map(read_instant, instants)
        delta[(period, element_id, "tasks")] += 1
        delta[(period, element_id, "seconds")] += (completed - created).total_seconds()
        delta[(period, element_id, "late")] += due is not None and completed > due
    _add(connection, ElementRollup, ("period", "element_id"), delta)


# ----------------------------------------------------------------------------- rebuild


def rebuild_rollups(connection: Any) -> None:
    """Recompute ``clock_rollups`` from the clock rows (backfill; checks the upkeep in tests).

    One GROUP BY per dimension; type flags are split in Python per distinct flag set.
    """
    connection.execute(delete(ClockRollup))
    connection.execute(delete(ClockRollupDelta))
    table = ComplaintClock
    measured = table.status.in_((MET, MISSED))
    aggregates = (
        func.count(),
        func.sum((table.status == MET).cast(Integer)),
        func.coalesce(func.sum(table.late_by_s), 0.0),
        func.sum((table.extensions > 0).cast(Integer)),
    )
    totals: Counter = Counter()
    for dimension in DIMENSIONS:
        column = table.type_flags if dimension == "type_flag" else getattr(table, dimension, None)
        group = [table.period, table.clock] + ([column] if column is not None else [])
        query = select(*group, *aggregates).where(measured).group_by(*group)
        for row in connection.execute(query):
            period, clock = row[0], row[1]
            values = (
                _values({dimension: row[2], "type_flags": row[2]}, dimension) if column is not None else [""]
            )
            for value in values:
                key = (period, clock, dimension, value)
                for name, amount in zip(("measured", "met", "late_s", "extended"), row[-4:], strict=True):
                    totals[(*key, name)] += amount or 0
    _add(connection, ClockRollup, ("period", "clock", "dimension", "value"), totals)
