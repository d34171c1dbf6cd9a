"""Report queries at 1,000,000 closed complaints (L7 on-time rate, C4 volumes, at risk, heat map).

Fills a SQLite file with N closed complaints accepted over the past year (12 channels, the
configured categories, 6 departments, a fifth of them urgent), each with its clocks (L1, L2,
L4, R4, and T7 for escalated ones: about 4.1 N clock rows), plus 2,000 open complaints with
running clocks. The rollups are built the way a backfill builds them
(``tasks.clocks.rebuild_rollups``, one GROUP BY per dimension) and, for volumes and the heat
map, from the same generated rows. Then it times, over several rounds, every report query
of the page for the whole year (on-time per clock, by each breakdown, by month, Annex 1
volumes, the clocks at risk, the heat map) and the reports page itself through Flask. In the
same run it times a baseline (one complaint by instance id: a unique-index lookup) and, for
comparison, the on-time rate per clock computed straight from the clock rows.

Last line: ``p95_ms <x>`` over all report query calls.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tomllib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Integer, func, select  # noqa: E402

from bench.stats import percentile  # noqa: E402
from engine.audit_key import create_key_file  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from tasks import clocks, reports  # noqa: E402
from tasks.clocks import ComplaintClock  # noqa: E402
from tasks.records import Complaint  # noqa: E402
from web import accounts, create_app  # noqa: E402
from web.system import upgrade_schema  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
DEPARTMENTS = ["network", "billing", "marketing", "sub_east", "sub_west", "sub_north"]
ELEMENTS = [
    "task_record_complaint",
    "task_review_dispatch",
    "task_handle_order",
    "task_review_reply",
    "task_reply_customer",
    "task_return_visit",
]


def _stamp(value: datetime) -> str:
    """SQLAlchemy's SQLite storage of a UTC instant (what UTCDateTime writes)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def fill(engine, config, complaints: int, open_complaints: int) -> None:
    rng = random.Random(7)
    channels = list(config["channels"])
    business = list(config["business_categories"])
    nature = list(config["nature_categories"])
    urgent_flags = ["major", "repeat", "batch"]
    volumes: Counter = Counter()
    elements: Counter = Counter()
    complaint_rows, clock_rows = [], []
    shanghai = timedelta(hours=8)

    def flush(cursor) -> None:
        cursor.executemany(
            "INSERT INTO complaints (instance_id, number, channel, business_category, nature_category, "
            "type_flags, priority, stage, status, accepted_at, closed_at, deadlines, reminders, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', 0, ?)",
            complaint_rows,
        )
        cursor.executemany(
            "INSERT INTO complaint_clocks (instance_id, clock, round, status, started_at, due_at, "
            "first_due_at, extensions, stopped_at, late_by_s, period, department, channel, "
            "business_category, "
            "nature_category, type_flags) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            clock_rows,
        )
        complaint_rows.clear()
        clock_rows.clear()

    raw = engine.writer.kw["bind"].raw_connection()
    cursor = raw.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    total = complaints + open_complaints
    for n in range(1, total + 1):
        is_open = n > complaints
        accepted = NOW - (
            timedelta(hours=rng.uniform(0, 40)) if is_open else timedelta(days=rng.uniform(3, 365))
        )
        period = (accepted + shanghai).date().isoformat()
        channel = rng.choice(channels)
        escalated = bool(config["channels"][channel].get("escalation"))
        if escalated:
            flags = ["escalated"]
        elif rng.random() < 0.8:
            flags = ["ordinary"]
        else:
            flags = rng.sample(urgent_flags, rng.choice((1, 2)))
        urgent = flags != ["ordinary"]
        row = (business_code := rng.choice(business), nature_code := rng.choice(nature))
        department = rng.choice(DEPARTMENTS)
        type_flags = ",".join(flags)
        complaint_rows.append(
            (
                n,
                f"TS-{n:08d}",
                channel,
                row[0],
                row[1],
                type_flags,
                "urgent" if urgent else "ordinary",
                "handling" if is_open else "closed",
                "open" if is_open else "closed",
                _stamp(accepted),
                None if is_open else _stamp(accepted + timedelta(days=2)),
                _stamp(accepted),
            )
        )
        for dimension, value in (
            ("all", ""),
            ("channel", channel),
            ("business_category", business_code),
            ("nature_category", nature_code),
        ):
            volumes[(period, dimension, value, "complaints")] += 1
        for flag in flags:
            volumes[(period, "type_flag", flag, "complaints")] += 1
        plan = [("L1", 24), ("L2", 0.5 if urgent else 2), ("L4", 24 if urgent else 48), ("R4", 2)]
        if escalated:
            plan.append(("T7", 72))
        for index, (clock, hours) in enumerate(plan):
            started = accepted + timedelta(hours=index * 3)
            due = started + timedelta(hours=hours)
            extended = clock == "L4" and rng.random() < 0.05
            first_due = due - timedelta(hours=24) if extended else due
            if is_open and clock in ("L4", "R4", "T7"):
                status, stopped, late = "running", None, None
            else:
                late = max(0.0, rng.gauss(-hours * 1800, hours * 1200))
                status, stopped = ("met" if late == 0 else "missed"), due + timedelta(seconds=late - 60)
            clock_rows.append(
                (
                    n,
                    clock,
                    status,
                    _stamp(started),
                    _stamp(due),
                    _stamp(first_due),
                    int(extended),
                    None if stopped is None else _stamp(stopped),
                    late,
                    period,
                    department,
                    channel,
                    business_code,
                    nature_code,
                    type_flags,
                )
            )
        if not is_open:
            for element in ELEMENTS:
                elements[(period, element, "tasks")] += 1
                elements[(period, element, "seconds")] += rng.uniform(60, 36000)
                elements[(period, element, "late")] += rng.random() < 0.08
        if len(complaint_rows) >= 50_000:
            flush(cursor)
    flush(cursor)
    raw.commit()
    cursor.execute("ANALYZE")
    raw.close()
    with engine.writer() as session, session.begin():
        connection = session.connection()
        clocks.rebuild_rollups(connection)
        clocks._add(connection, clocks.ComplaintVolume, ("period", "dimension", "value"), volumes)
        clocks._add(connection, clocks.ElementRollup, ("period", "element_id"), elements)


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        create_key_file(Path(folder) / "audit.key")  # the audit key beside the database
        app = create_app(
            {"DATABASE_URL": f"sqlite:///{folder}/reports.sqlite3", "SECRET_KEY": "bench", "SCHEDULER": False}
        )
        engine = app.extensions["process_engine"]
        upgrade_schema(engine)
        engine.deploy(load_bundle(ROOT / "bpmn"), actor="bench")
        config = tomllib.loads((ROOT / "bpmn" / "procedure.toml").read_text(encoding="utf-8"))
        started = time.perf_counter()
        fill(engine, config, args.complaints, args.open)
        with engine.reader() as session:
            clock_count = session.scalar(select(func.count()).select_from(ComplaintClock))
            rollups = session.scalar(select(func.count()).select_from(clocks.ClockRollup))
        print(
            f"filled {args.complaints} closed + {args.open} open complaints, {clock_count} clocks, "
            f"{rollups} clock rollup rows in {time.perf_counter() - started:.0f} s"
        )
        with engine.writer() as session, session.begin():
            accounts.create_user(session, "boss", "boss-password", "Boss", ["supervisor"], ["supervisor"])
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        client.post("/login", data={"username": "boss", "password": "boss-password"})

        year = reports.Period(date(2025, 11, 28), date(2026, 11, 27))
        queries = {
            "on_time": lambda c: reports.on_time(c, year),
            **{f"by_{b}": (lambda c, b=b: reports.on_time(c, year, b)) for b in reports.BREAKDOWNS},
            "volumes": lambda c: reports.volumes(c, year, config),
            "at_risk": lambda c: reports.at_risk(c, NOW),
            "heat": lambda c: reports.heat(c, year),
        }
        baseline_query = select(Complaint.number).where(Complaint.instance_id == 500_000)
        naive = (
            select(
                ComplaintClock.clock, func.count(), func.sum((ComplaintClock.status == "met").cast(Integer))
            )
            .where(ComplaintClock.period.between(*year.keys), ComplaintClock.status.in_(("met", "missed")))
            .group_by(ComplaintClock.clock)
        )
        query_ms: dict[str, list[float]] = {name: [] for name in queries}
        baseline_ms, naive_ms, page_ms = [], [], []
        page = "/reports?from=2025-11-28&to=2026-11-27&by=department"
        assert client.get(page).status_code == 200
        for round_number in range(args.rounds):
            with engine.reader() as session:
                connection = session.connection()
                for name, query in queries.items():
                    query_ms[name].append(timed(lambda q=query, c=connection: q(c)))
                for _ in range(5):
                    baseline_ms.append(timed(lambda c=connection: c.execute(baseline_query).all()))
                if round_number < 3:
                    naive_ms.append(timed(lambda c=connection: c.execute(naive).all()))
            page_ms.append(timed(lambda: client.get(page)))
        every = [ms for values in query_ms.values() for ms in values]
        p95 = percentile(every, 0.95)
        baseline = statistics.median(baseline_ms)
        for name, values in query_ms.items():
            print(f"  {name:<24} median {statistics.median(values):8.2f} ms")
        median = statistics.median(every)
        print(
            f"report queries median {median:.2f} ms, baseline (unique-index lookup) median "
            f"{baseline:.3f} ms, "
            f"ratio {median / baseline:.0f}; reports page (every table, one year) median "
            f"{statistics.median(page_ms):.0f} ms; on-time straight from the clock rows (no rollups) median "
            f"{statistics.median(naive_ms):.0f} ms"
        )
        print(f"p95_ms {p95:.1f}")


if __name__ == "__main__":
    main()
