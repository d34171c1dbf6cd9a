"""Per-instance cost of a complaint-sized process through the engine vs bare SpiffWorkflow.

Both run the same generated diagram (12 user tasks with boundary timers, 12 script
tasks, a gateway) to its end in this process and this run, in alternating rounds so
machine noise hits both alike. The engine side persists every command to SQLite on
disk (state, human tasks, timers, audit chain). Last line: ``ratio <engine/bare>``
(median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from bench.diagrams import complaint_sized, write_bundle  # noqa: E402
from engine import schema  # noqa: E402
from engine.audit_key import new_key  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.db import make_db_engine, make_session_factories  # noqa: E402
from engine.handlers import HandlerRegistry  # noqa: E402
from engine.service import ProcessEngine  # noqa: E402

PROCESS = "bench_process"


def run_bare(spec, subprocess_specs) -> None:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=PythonScriptEngine())
    workflow.do_engine_steps()
    while not workflow.completed:
        for task in workflow.get_tasks(state=TaskState.READY, manual=True):
            task.data.update({"note": "done"})
            task.run()
        workflow.do_engine_steps()


def run_engine(engine: ProcessEngine) -> None:
    result = engine.start(actor="bench")
    while result.opened_task_ids:
        for task_id in result.opened_task_ids:
            result = engine.complete_task(task_id, actor="bench", data={"note": "done"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--instances", type=int, default=40, help="per side per round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        bundle = load_bundle(write_bundle(Path(folder) / "bundle", "bench.bpmn", complaint_sized(), PROCESS))
        db = make_db_engine(f"sqlite:///{folder}/bench.sqlite3")
        schema.upgrade(db)
        engine = ProcessEngine(*make_session_factories(db), HandlerRegistry(), audit_key=new_key())
        compiled = engine.validate(bundle)
        engine.deploy(bundle, actor="bench")
        spec = compiled.specs[PROCESS]
        subprocess_specs = {k: v for k, v in compiled.specs.items() if k != PROCESS}

        for _ in range(5):  # warm caches on both sides
            run_bare(spec, subprocess_specs)
            run_engine(engine)

        bare_ms, engine_ms, ratios = [], [], []
        for round_number in range(args.rounds):
            started = time.perf_counter()
            for _ in range(args.instances):
                run_bare(spec, subprocess_specs)
            bare = (time.perf_counter() - started) * 1000 / args.instances
            started = time.perf_counter()
            for _ in range(args.instances):
                run_engine(engine)
            persisted = (time.perf_counter() - started) * 1000 / args.instances
            bare_ms.append(bare)
            engine_ms.append(persisted)
            ratios.append(persisted / bare)
            print(
                f"round {round_number + 1}: bare {bare:.2f} ms  engine {persisted:.2f} ms  "
                f"ratio {persisted / bare:.2f}"
            )
        print(
            f"median per instance: bare {statistics.median(bare_ms):.2f} ms, "
            f"engine {statistics.median(engine_ms):.2f} ms (12 user tasks, SQLite on disk)"
        )
        print(f"ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
