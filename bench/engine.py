"""Per-complaint cost of the real procedure through the engine vs bare SpiffWorkflow.

Both sides run the deployed ``bpmn/`` bundle (the map and its paths) through the main path of
a complaint: start, record (A1-A5), review and dispatch (L2), the customer told the progress
(L1, a message), the department's reply (W1-W5), the centre's review (E4), the reply to the
customer (R1) and the return visit (V1), which closes it. Eight commands per complaint.

* engine: ``ProcessEngine`` with the domain's real handler registry (``tasks.registry``:
  validators, service operations, the complaint record and the clock projection), SQLite on
  disk, every command in its own transaction (state, human tasks, timers, audit chain).
* bare: SpiffWorkflow alone on the same compiled specs in memory, expressions evaluated by
  the library's own ``PythonScriptEngine`` with the same helper functions, service tasks
  answered with the results the engine's operations gave (recorded in the warm-up), so both
  take the same path through the same diagrams.

Rounds alternate sides so machine noise hits both alike. Then one instrumented pass says
where the engine's time goes per command: load (workflow from cache or state), run (the
diagram: SpiffWorkflow, sandboxed scripts, form checks), handlers (validators and service
operations of the domain), projections (complaint record, clocks), save (state dump, human
tasks, timers), audit, and other (connection, transaction, commit, bookkeeping).
Last line: ``ratio <engine/bare>``, the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial, wraps
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# bench/ itself off the path: its http.py would stand in for the standard library's http.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.util.event import BpmnEvent  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

import engine.service as engine_service  # noqa: E402
from bench.stats import percentile  # noqa: E402
from engine import schema  # noqa: E402
from engine.audit_key import new_key  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.db import make_db_engine, make_session_factories  # noqa: E402
from engine.deployments import latest_deployment  # noqa: E402
from engine.service import ProcessEngine  # noqa: E402
from engine.spiff import clock_in_use  # noqa: E402
from tasks.registry import REGISTRY  # noqa: E402
from tests.procedure import scenario_data as scenario  # noqa: E402
from web.system import MIGRATION_FOLDERS  # noqa: E402

BUNDLE = Path(__file__).resolve().parents[1] / "bpmn"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)  # a Friday morning: every clock on time
PROGRESS = "progress_reply"  # L1: the web layer's message when the customer was told the progress
SEGMENTS = ("load", "run", "handlers", "projections", "save", "audit", "other")

# The main path: (step, user task element or message, submitted data); the payloads are the
# scenario tests' own (tests/procedure/scenario_data.py), so the bench drives their complaint.
STEPS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("record", "task_record_complaint", scenario.record()),
    ("dispatch", "task_review_dispatch", scenario.dispatch()),
    ("progress", PROGRESS, scenario.progress_note()),
    ("handle", "task_handle_order", scenario.work_order_reply()),
    ("review", "task_review_reply", scenario.review()),
    ("reply", "task_reply_customer", scenario.customer_reply()),
    ("visit", "task_return_visit", scenario.return_visit()),
)
COMMANDS = ("start", *(step for step, _, _ in STEPS))


# ----------------------------------------------------------------------------- engine side


def run_engine(engine: ProcessEngine, on_command: Callable[[str, float], None] | None = None) -> float:
    """One complaint through the engine; returns the milliseconds spent in its commands."""
    spent = 0.0

    def timed(name: str, command: Callable[[], Any]) -> Any:
        nonlocal spent
        started = time.perf_counter()
        result = command()
        ms = (time.perf_counter() - started) * 1000
        spent += ms
        if on_command is not None:
            on_command(name, ms)
        return result

    instance_id = timed("start", partial(engine.start, actor="intake")).instance_id
    for step, element, data in STEPS:
        if element == PROGRESS:
            timed(step, partial(engine.send_message, instance_id, PROGRESS, actor="engineer", payload=data))
            continue
        [row] = [row for row in engine.open_tasks(instance_id) if row.element_id == element]  # not timed
        complete = partial(
            engine.complete_task,
            row.id,
            actor=row.assignee or "bench",
            data=data,
            actor_groups=[row.candidate_group],
        )
        timed(step, complete)
    if engine.instance(instance_id).status != "completed":
        still_open = [row.element_id for row in engine.open_tasks(instance_id)]
        raise SystemExit(f"the complaint did not close: open {still_open}")
    return spent


# ----------------------------------------------------------------------------- bare side


class Recorded:
    """The service operations' results as the engine's run gave them, replayed in order."""

    def __init__(self) -> None:
        self.results: dict[str, list[str]] = defaultdict(list)
        self._turn: dict[str, int] = defaultdict(int)

    def record(self, name: str, result: Any) -> None:
        self.results[name].append(json.dumps(result, default=_iso))

    def restart(self) -> None:
        self._turn.clear()

    def next(self, name: str) -> str:
        turn = self._turn[name]
        self._turn[name] = turn + 1
        return self.results[name][turn]


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class _Replaying(TaskDataEnvironment):
    def __init__(self, globals_: dict[str, Any], recorded: Recorded) -> None:
        super().__init__(globals_)
        self._recorded = recorded

    def call_service(self, context, operation_name, operation_params, **_ignored):
        return self._recorded.next(operation_name)


def bare_script_engine(runtime, recorded: Recorded) -> PythonScriptEngine:
    """The library's script engine with the version's helper functions (no sandbox)."""
    helpers = dict(runtime.script_engine.environment.globals)
    return PythonScriptEngine(environment=_Replaying(helpers, recorded))


def run_bare(spec, subprocess_specs, script_engine: PythonScriptEngine, recorded: Recorded) -> None:
    recorded.restart()
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.do_engine_steps()
    for _step, element, data in STEPS:
        if element == PROGRESS:
            workflow.send_event(BpmnEvent(MessageEventDefinition(PROGRESS), payload=data))
        else:
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            [task] = [task for task in ready if task.task_spec.bpmn_id == element]
            task.data.update(data)
            task.run()
        workflow.do_engine_steps()
    if not workflow.completed:
        raise SystemExit("the bare workflow did not complete")


# ----------------------------------------------------------------------------- where the time goes


class Timeline:
    """Exclusive time per segment: entering a segment pauses the one it is nested in."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def segment(self, name: str) -> Iterator[None]:
        now = time.perf_counter()
        if self._stack:
            outer, since = self._stack[-1]
            self.totals[outer] += now - since
        self._stack.append((name, now))
        try:
            yield
        finally:
            now = time.perf_counter()
            inner, since = self._stack.pop()
            self.totals[inner] += now - since
            if self._stack:
                self._stack[-1] = (self._stack[-1][0], now)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.segment(name):
                return function(*args, **kwargs)

        return timed

    def take(self) -> dict[str, float]:
        totals, self.totals = dict(self.totals), defaultdict(float)
        return totals


def instrument(engine: ProcessEngine, timeline: Timeline) -> None:
    """Time the engine's parts on this engine object and the registry (the bench's own process)."""
    engine._load = timeline.wrap("load", engine._load)
    engine._save = timeline.wrap("save", engine._save)
    running = engine._running_diagram

    @contextlib.contextmanager
    def running_diagram(*args: Any, **kwargs: Any) -> Iterator[None]:
        with timeline.segment("run"), running(*args, **kwargs):
            yield

    engine._running_diagram = running_diagram
    for table in (REGISTRY.validators, REGISTRY.operations):
        for name, function in list(table.items()):
            table[name] = timeline.wrap("handlers", function)
    REGISTRY.projections[:] = [timeline.wrap("projections", hook) for hook in REGISTRY.projections]
    engine_service.audit.append = timeline.wrap("audit", engine_service.audit.append)


def breakdown(engine: ProcessEngine, instances: int) -> dict[str, dict[str, float]]:
    """Mean milliseconds per command and segment over ``instances`` instrumented complaints."""
    timeline = Timeline()
    instrument(engine, timeline)
    sums: dict[str, dict[str, float]] = {command: defaultdict(float) for command in COMMANDS}
    counts: dict[str, int] = defaultdict(int)

    def on_command(name: str, ms: float) -> None:
        parts = timeline.take()
        inside = sum(parts.values()) * 1000
        for segment, seconds in parts.items():
            sums[name][segment] += seconds * 1000
        sums[name]["other"] += max(ms - inside, 0.0)
        sums[name]["total"] += ms
        counts[name] += 1

    original = engine.start, engine.complete_task, engine.send_message
    engine.start = lambda **kw: _outer(timeline, original[0], **kw)
    engine.complete_task = lambda *a, **kw: _outer(timeline, original[1], *a, **kw)
    engine.send_message = lambda *a, **kw: _outer(timeline, original[2], *a, **kw)
    for _ in range(instances):
        run_engine(engine, on_command)
    return {name: {k: v / counts[name] for k, v in parts.items()} for name, parts in sums.items()}


def _outer(timeline: Timeline, command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with timeline.segment("other"):
        return command(*args, **kwargs)


def print_breakdown(table: dict[str, dict[str, float]]) -> None:
    print("where the engine's time goes, ms per command (mean of the instrumented pass):")
    print(f"  {'command':<10}" + "".join(f"{name:>12}" for name in (*SEGMENTS, "total")))
    whole: dict[str, float] = defaultdict(float)
    for command, parts in table.items():
        print(f"  {command:<10}" + "".join(f"{parts.get(name, 0.0):12.2f}" for name in (*SEGMENTS, "total")))
        for name in (*SEGMENTS, "total"):
            whole[name] += parts.get(name, 0.0)
    print(f"  {'complaint':<10}" + "".join(f"{whole[name]:12.2f}" for name in (*SEGMENTS, "total")))
    share = ", ".join(f"{name} {100 * whole[name] / whole['total']:.0f} %" for name in SEGMENTS)
    print(f"  share: {share}")


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--instances", type=int, default=20, help="complaints per side per round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = make_db_engine(f"sqlite:///{folder}/bench.sqlite3")
        schema.upgrade(db, MIGRATION_FOLDERS)
        engine = ProcessEngine(
            *make_session_factories(db), REGISTRY, clock=FrozenClock(NOW), audit_key=new_key()
        )
        bundle = load_bundle(BUNDLE)
        engine.deploy(bundle, actor="bench")
        with engine.reader() as session:
            runtime = engine.runtime(latest_deployment(session).id)
        spec = runtime.spec(runtime.main_process)
        subprocess_specs = runtime.subprocess_specs(runtime.main_process)

        recorded = Recorded()
        operations = dict(REGISTRY.operations)
        for name, function in operations.items():
            REGISTRY.operations[name] = _recording(name, function, recorded)
        run_engine(engine)  # records every service result of one complaint
        REGISTRY.operations.update(operations)
        script_engine = bare_script_engine(runtime, recorded)

        with clock_in_use(engine.clock):
            for _ in range(3):  # warm caches on both sides
                run_bare(spec, subprocess_specs, script_engine, recorded)
                run_engine(engine)

            bare_ms, engine_ms, ratios, command_ms = [], [], [], []
            for round_number in range(args.rounds):
                started = time.perf_counter()
                for _ in range(args.instances):
                    run_bare(spec, subprocess_specs, script_engine, recorded)
                bare = (time.perf_counter() - started) * 1000 / args.instances
                keep = lambda _, ms: command_ms.append(ms)  # noqa: E731
                spent = [run_engine(engine, keep) for _ in range(args.instances)]
                persisted = sum(spent) / args.instances
                bare_ms.append(bare)
                engine_ms.append(persisted)
                ratios.append(persisted / bare)
                print(
                    f"round {round_number + 1}: bare {bare:.2f} ms  engine {persisted:.2f} ms  "
                    f"ratio {persisted / bare:.2f}"
                )
            print(
                f"median per complaint ({len(COMMANDS)} commands): bare {statistics.median(bare_ms):.2f} ms, "
                f"engine {statistics.median(engine_ms):.2f} ms (real bpmn/ bundle and handlers, SQLite "
                f"on disk); engine command p50 {percentile(command_ms, 0.5):.2f} ms, "
                f"p95 {percentile(command_ms, 0.95):.2f} ms"
            )
            print_breakdown(breakdown(engine, args.instances))
        print(f"ratio {statistics.median(ratios):.2f}")


def _recording(name: str, function: Callable[..., Any], recorded: Recorded) -> Callable[..., Any]:
    @wraps(function)
    def record(call: Any) -> Any:
        result = function(call)
        recorded.record(name, result)
        return result

    return record


if __name__ == "__main__":
    main()
