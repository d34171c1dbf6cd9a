"""10,000 timers falling due within one minute, one node: how late, how many missed or doubled.

Instances of a start -> timer -> end process are created first, with due instants
spread uniformly over a one-minute window that opens once creation is done; then
the node's TimerScheduler (the production wake-up path) fires them. Lateness is
what the engine records per firing (fired minus due). Last line:
``p99_lateness_s <x> missed <n> duplicated <n>``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bench.diagrams import timer_only, write_bundle  # noqa: E402
from bench.stats import percentile  # noqa: E402
from engine import schema  # noqa: E402
from engine.audit_key import new_key  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.db import make_db_engine, make_session_factories  # noqa: E402
from engine.handlers import HandlerRegistry  # noqa: E402
from engine.models import Instance, TimerFiring  # noqa: E402
from engine.scheduler import TimerScheduler  # noqa: E402
from engine.service import ProcessEngine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the dues spread over")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        bundle = load_bundle(
            write_bundle(Path(folder) / "bundle", "timer.bpmn", timer_only(), "timer_process")
        )
        db = make_db_engine(args.database_url or f"sqlite:///{folder}/timers.sqlite3")
        schema.upgrade(db)
        engine = ProcessEngine(
            *make_session_factories(db), HandlerRegistry(), node="bench", audit_key=new_key()
        )
        engine.deploy(bundle, actor="bench")

        # Estimate creation speed, then open the window once every instance exists.
        started = time.perf_counter()
        probe = 200
        far = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        for _ in range(probe):
            engine.start(actor="bench", data={"wake_at": far})
        per_instance = (time.perf_counter() - started) / probe
        window_opens = datetime.now(UTC) + timedelta(seconds=per_instance * args.instances * 1.4 + 5)
        rng = random.Random(7)
        offsets = [rng.uniform(0, args.window) for _ in range(args.instances)]
        for offset in offsets:
            engine.start(
                actor="bench",
                data={"wake_at": (window_opens + timedelta(seconds=offset)).isoformat()},
            )
        created = datetime.now(UTC)
        print(
            f"created {args.instances} instances at {per_instance * 1000:.1f} ms each; "
            f"window opens {(window_opens - created).total_seconds():.1f} s after creation"
        )
        if created >= window_opens:
            sys.exit("creation overran the window start: rerun")

        scheduler = TimerScheduler(engine, sweep_seconds=5)
        scheduler.start()
        deadline = window_opens + timedelta(seconds=args.window + 10)
        while datetime.now(UTC) < deadline:
            time.sleep(1)
        scheduler.shutdown()

        with engine.reader() as session:
            lateness = list(session.scalars(select(TimerFiring.lateness_s)))
            fired_tasks = session.scalar(select(func.count(func.distinct(TimerFiring.task_id))))
            firings = session.scalar(select(func.count()).select_from(TimerFiring))
            waiting = session.scalar(
                select(func.count())
                .select_from(Instance)
                .where(Instance.status == "running", Instance.next_timer_at < deadline)
            )
        print(
            f"fired {firings}; lateness median {statistics.median(lateness):.3f} s, "
            f"p95 {percentile(lateness, 0.95):.3f} s, max {max(lateness):.3f} s"
        )
        print(
            f"p99_lateness_s {percentile(lateness, 0.99):.3f} missed {waiting} "
            f"duplicated {firings - fired_tasks}"
        )


if __name__ == "__main__":
    main()
