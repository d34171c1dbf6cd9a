"""Migrating running complaints vs loading and saving them once, in the same run.

N complaints of the real procedure (``bpmn/``, real handlers) are started on v1 and left
at intake, each with its first-reply event subprocess open and its timer waiting. v2
renames a task and changes a figure. Each round first loads and saves every complaint
once without migrating (its own transaction each: read, load, serialize, write), then
migrates them all with a plan (``engine.migration_runs``: one transaction each, audited,
with the revert record), alternately v1 -> v2 and back. Last line: ``ratio
<migrate/load-save>`` (median of the per-round ratios; the target is at most 3).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import migration_runs, schema  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.db import make_db_engine, make_session_factories  # noqa: E402
from engine.service import ProcessEngine  # noqa: E402
from engine.spiff import waiting_timers  # noqa: E402
from engine.spiff_state import dump_state  # noqa: E402
from engine.store import Store  # noqa: E402
from tasks.registry import REGISTRY  # noqa: E402
from web.system import MIGRATION_FOLDERS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RENAMED_FROM, RENAMED_TO = "task_assess_impact", "task_reassess_impact"


def v2_bundle(folder: Path):
    target = folder / "v2"
    shutil.copytree(ROOT / "bpmn", target)
    diagram = target / "complaint.bpmn"
    diagram.write_text(
        diagram.read_text(encoding="utf-8").replace(RENAMED_FROM, RENAMED_TO), encoding="utf-8"
    )
    config = target / "procedure.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('ordinary = "PT48H"', 'ordinary = "PT72H"'), encoding="utf-8")
    return load_bundle(target)


def load_and_save_all(engine: ProcessEngine, ids: list[int]) -> None:
    """What every command costs at least: read, load, serialize and write back, one transaction each."""
    now = engine.clock.now()
    for instance_id in ids:
        with engine.writer.kw["bind"].connect() as connection, connection.begin():
            store = Store(connection)
            instance = store.instance(instance_id)
            runtime = engine.runtime(instance.deployment_id)
            workflow = runtime.load_workflow(store.state(instance_id), instance.process_id)
            store.move_instance(
                instance,
                deployment_id=instance.deployment_id,
                state=dump_state(workflow),
                next_timer_at=min((due for _, due in waiting_timers(workflow)), default=None),
                now=now,
            )


def migrate_all(engine: ProcessEngine, source: int, target: int, mapping: dict[str, str], count: int) -> None:
    run_id = migration_runs.start_run(engine, source, target, actor="bench", mapping=mapping)
    report = migration_runs.run(engine, run_id)
    moved = report.counts().get("migrated", 0)
    if moved != count:
        raise SystemExit(f"only {moved} of {count} moved: {report.lines()[:5]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = make_db_engine(f"sqlite:///{folder}/bench.sqlite3")
        schema.upgrade(db, MIGRATION_FOLDERS)
        engine = ProcessEngine(*make_session_factories(db), REGISTRY)
        engine.deploy(load_bundle(ROOT / "bpmn"), actor="bench")
        engine.deploy(v2_bundle(Path(folder)), actor="bench")
        started = time.perf_counter()
        ids = [engine.start(actor="bench", version=1).instance_id for _ in range(args.instances)]
        print(
            f"{args.instances} complaints started in {time.perf_counter() - started:.1f} s (setup, not timed)"
        )

        plans = [(1, 2, {RENAMED_FROM: RENAMED_TO}), (2, 1, {RENAMED_TO: RENAMED_FROM})]
        baseline_s, migrate_s, ratios = [], [], []
        for round_number in range(args.rounds):
            started = time.perf_counter()
            load_and_save_all(engine, ids)
            baseline = time.perf_counter() - started
            source, target, mapping = plans[round_number % 2]
            started = time.perf_counter()
            migrate_all(engine, source, target, mapping, len(ids))
            migrated = time.perf_counter() - started
            baseline_s.append(baseline)
            migrate_s.append(migrated)
            ratios.append(migrated / baseline)
            print(
                f"round {round_number + 1}: load+save {baseline:.1f} s  migrate v{source}->v{target} "
                f"{migrated:.1f} s  ratio {migrated / baseline:.2f}"
            )
        print(
            f"median for {args.instances} running complaints: "
            f"load+save {statistics.median(baseline_s):.1f} s, "
            f"migrate {statistics.median(migrate_s):.1f} s (SQLite on disk, one transaction each)"
        )
        print(f"ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
