"""A timer burst beside people's work: 2,000 timers due within 20 s while 8 clients complete tasks.

Two "nodes" (two processes) share one PostgreSQL (run it under ``tools/with-postgres``,
which sets DATABASE_URL). Each node runs the production wake-up path (``TimerScheduler``
on its own ``ProcessEngine``) and four client threads that claim and complete user tasks
of a 12-step process through in-process engine calls (the same command path the web
layer calls; HTTP is left out so the figure is the database's, not Werkzeug's).

Timeline: warm-up 5 s, a baseline of people's work alone (``--baseline`` s), then the
burst window (``--window`` s) in which the timers fall due, then until every timer fired.
People's pairs/s are counted in the baseline and in the window. Lateness is what the
engine records per firing (commit instant minus due). Last line:
``burst_slowdown X lateness_p99_s Y missed N duplicated M`` where X is pairs/s without the
burst divided by pairs/s with it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from bench.diagrams import complaint_sized, timer_only, write_bundle  # noqa: E402
from bench.stats import percentile  # noqa: E402
from engine import schema  # noqa: E402
from engine.audit_key import AuditKey, key_text, new_key, parse_key  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.db import make_db_engine, make_session_factories  # noqa: E402
from engine.handlers import HandlerRegistry  # noqa: E402
from engine.models import Instance, TimerFiring  # noqa: E402
from engine.scheduler import TimerScheduler  # noqa: E402
from engine.service import ProcessEngine  # noqa: E402

PEOPLE_VERSION, TIMER_VERSION = 1, 2
WARM_UP = 5.0


def build_engine(url: str, key: AuditKey, node: str) -> ProcessEngine:
    db = make_db_engine(url)
    return ProcessEngine(*make_session_factories(db), HandlerRegistry(), node=node, audit_key=key)


def client(engine: ProcessEngine, name: str, start_at: float, stop_at: float, pairs: list) -> None:
    """Claim and complete tasks one after the other; a finished instance is replaced by a new one."""
    while time.time() < start_at:
        time.sleep(0.01)
    opened: list[str] = []
    while time.time() < stop_at:
        if not opened:
            opened = list(engine.start(actor=name, version=PEOPLE_VERSION).opened_task_ids)
            continue
        task_id = opened.pop()
        began = time.time()
        engine.claim(task_id, actor=name)
        result = engine.complete_task(task_id, actor=name, data={"note": "done"})
        ended = time.time()
        pairs.append((ended, ended - began))
        opened.extend(result.opened_task_ids)


def node_main(
    url: str, key_text_: str, node: str, clients: int, start_at: float, stop_at: float, out
) -> None:
    engine = build_engine(url, parse_key(key_text_, "bench"), node)
    scheduler = TimerScheduler(engine, sweep_seconds=1.0)
    pairs: list[tuple[float, float]] = []
    threads = [
        threading.Thread(target=client, args=(engine, f"{node}-c{n}", start_at, stop_at, pairs))
        for n in range(clients)
    ]
    while time.time() < start_at - 1:
        time.sleep(0.05)
    scheduler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while time.time() < stop_at:
        time.sleep(0.2)
    scheduler.shutdown()
    out.put((node, pairs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=2000)
    parser.add_argument("--window", type=float, default=20.0, help="seconds the dues spread over")
    parser.add_argument("--baseline", type=float, default=20.0, help="seconds of people's work alone")
    parser.add_argument("--clients", type=int, default=8, help="in all, split over the nodes")
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--tail", type=float, default=15.0, help="seconds after the window for late timers")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("DATABASE_URL must name a PostgreSQL database (run under tools/with-postgres)")

    key = new_key()
    with tempfile.TemporaryDirectory() as folder:
        db = make_db_engine(url)
        schema.upgrade(db)
        setup = build_engine(url, key, "setup")
        people = write_bundle(Path(folder) / "people", "people.bpmn", complaint_sized(), "bench_process")
        timers = write_bundle(Path(folder) / "timers", "timer.bpmn", timer_only(), "timer_process")
        setup.deploy(load_bundle(people), actor="bench")
        setup.deploy(load_bundle(timers), actor="bench")

        probe, far = 50, (datetime.now(UTC) + timedelta(days=1)).isoformat()
        began = time.perf_counter()
        for _ in range(probe):
            setup.start(actor="bench", data={"wake_at": far}, version=TIMER_VERSION)
        per_timer = (time.perf_counter() - began) / probe
        lead = WARM_UP + args.baseline + 8  # node start-up, warm-up, baseline
        window_opens = time.time() + per_timer * args.timers * 1.5 + lead
        rng = random.Random(16)
        opens_at = datetime.fromtimestamp(window_opens, UTC)
        for _ in range(args.timers):
            wake = opens_at + timedelta(seconds=rng.uniform(0, args.window))
            setup.start(actor="bench", data={"wake_at": wake.isoformat()}, version=TIMER_VERSION)
        if time.time() > window_opens - lead + 2:
            sys.exit("creating the timers overran the plan: rerun")
        print(f"created {args.timers} timers at {per_timer * 1000:.1f} ms each")

        clients_start = window_opens - args.baseline - WARM_UP
        stop_at = window_opens + args.window + args.tail
        context = multiprocessing.get_context("spawn")
        out = context.Queue()
        per_node = [args.clients // args.nodes + (n < args.clients % args.nodes) for n in range(args.nodes)]
        processes = [
            context.Process(
                target=node_main,
                args=(url, key_text(key), f"node-{n + 1}", per_node[n], clients_start, stop_at, out),
            )
            for n in range(args.nodes)
        ]
        for process in processes:
            process.start()
        results = [out.get() for _ in processes]
        for process in processes:
            process.join()

        pairs = [pair for _, node_pairs in results for pair in node_pairs]
        base_from, base_to = clients_start + WARM_UP, window_opens
        burst_from, burst_to = window_opens, window_opens + args.window
        baseline = [latency for ended, latency in pairs if base_from <= ended < base_to]
        burst = [latency for ended, latency in pairs if burst_from <= ended < burst_to]
        base_rate = len(baseline) / (base_to - base_from)
        burst_rate = len(burst) / (burst_to - burst_from)
        with setup.reader() as session:
            timer_deployment = select(Instance.deployment_id).where(Instance.process_id == "timer_process")
            lateness = list(session.scalars(select(TimerFiring.lateness_s)))
            fired_tasks = session.scalar(select(func.count(func.distinct(TimerFiring.task_id))))
            firings = session.scalar(select(func.count()).select_from(TimerFiring))
            missed = session.scalar(
                select(func.count())
                .select_from(Instance)
                .where(
                    Instance.status == "running",
                    Instance.deployment_id.in_(timer_deployment),
                    Instance.next_timer_at < datetime.fromtimestamp(burst_to, UTC),
                )
            )
        print(
            f"people: {base_rate:.1f} pairs/s alone (p99 {percentile(baseline, 0.99):.3f} s), "
            f"{burst_rate:.1f} pairs/s during the burst (p99 {percentile(burst, 0.99):.3f} s)"
        )
        print(
            f"timers: fired {firings}; lateness median {statistics.median(lateness):.3f} s, "
            f"p95 {percentile(lateness, 0.95):.3f} s, max {max(lateness):.3f} s"
        )
        slowdown = base_rate / burst_rate if burst_rate else float("inf")
        print(
            f"burst_slowdown {slowdown:.2f} lateness_p99_s {percentile(lateness, 0.99):.3f} "
            f"missed {missed} duplicated {firings - fired_tasks}"
        )


if __name__ == "__main__":
    main()
