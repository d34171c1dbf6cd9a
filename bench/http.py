"""Claim + complete pairs of the real procedure over HTTP against the same pairs in-process.

For each database (SQLite, then PostgreSQL when installed) it sets a fresh database
up as an operator does (``complaints setup --bundle bpmn --demo-users``, a token from
``complaints users token``), records complaints, then in each round:

- in-process: one client claims and completes the dispatch review
  (``task_review_dispatch``) of one complaint after another through the engine API;
- over HTTP: the server started as ``complaints serve`` does, with 1, 4 and 16 clients
  (threads, one keep-alive connection each) doing the same pairs through ``/api/v1``.

Each client works its own complaints, so the pairs measure the command path, not
claim races. Per database and clients: pairs/s and per-pair p50/p99 (medians over
the rounds). Last line, SQLite: ``http_vs_inproc X p99_ratio Y`` where X is pairs/s
over HTTP at 16 clients / pairs/s in-process at 1 client and Y is p99 at 16 clients /
p50 at 1 client over HTTP (medians of the per-round ratios).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on the path, and its name would hide
# the standard library's http package from everyone (werkzeug too).
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import contextlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from engine.service import FirstTask  # noqa: E402

BUNDLE = ROOT / "bpmn"
COMPLAINTS = Path(sys.executable).with_name("complaints")
CLIENTS = (1, 4, 16)
ELEMENT = "task_review_dispatch"
DISPATCHER, DISPATCH_GROUP = "dispatcher", "cs_center"  # a demo user (web.accounts.DEMO_USERS)
RECORD = {  # a valid intake record; each complaint gets its own phone (else it is a T2 repeat)
    "channel": "phone",
    "customer_name": "Bench",
    "business_category": "internet_broadband",
    "nature_category": "installation_relocation",
    "complaint_types": ["ordinary"],
    "description": "Broadband installation missed three appointments",
    "first_contact_resolved": False,
}
DISPATCH = {"department": "network", "review_note": "Record complete"}


@dataclass(frozen=True)
class Run:
    clients: int
    pairs: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.pairs / self.seconds

    def quantile(self, q: float) -> float:
        return percentile(self.latencies, q)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def complaints_command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(COMPLAINTS), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"complaints {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


# ---------------------------------------------------------------------- databases


@contextlib.contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'bench.sqlite3'}"


@contextlib.contextmanager
def postgres_database(folder: Path) -> Iterator[str]:
    """A throwaway cluster on loopback, started as tools/with-postgres does."""
    bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bindirs:
        raise FileNotFoundError("PostgreSQL is not installed (tools/system-packages installs it)")
    bindir, data, port = bindirs[-1], folder / "pg", free_port()
    as_owner: list[str] = []
    if os.getuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        subprocess.run(["id", "postgres"], check=True, capture_output=True)
        shutil.chown(folder, "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    quiet = {"check": True, "capture_output": True}
    subprocess.run(
        [*as_owner, bindir / "initdb", "-D", data, "-A", "trust", "-U", "complaints", "--no-sync"], **quiet
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    start = [*as_owner, bindir / "pg_ctl", "-D", data, "-l", folder / "pg.log", "-w", "start", "-o", options]
    subprocess.run(start, **quiet)
    try:
        subprocess.run(
            [bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "complaints", "bench"], **quiet
        )
        yield f"postgresql+psycopg://complaints@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(
            [*as_owner, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True
        )


# ---------------------------------------------------------------------- the work


def record_complaints(count: int, first_phone: int) -> list[str]:
    """Complaints waiting at their dispatch review (recorded in-process: not what is measured)."""
    from web.system import build_engine

    engine = build_engine()
    task_ids = []
    for n in range(count):
        data = {**RECORD, "customer_phone": f"139{first_phone + n:08d}"}
        result = engine.start(actor="intake", first_task=FirstTask("task_record_complaint", data, ["intake"]))
        [task_id] = [task for task in result.opened_task_ids if engine.task(task).element_id == ELEMENT]
        task_ids.append(task_id)
    engine.writer.kw["bind"].dispose()
    return task_ids


def in_process(task_ids: list[str]) -> Run:
    """One client through the engine API, on an engine that has none of them cached."""
    from web.system import build_engine

    engine = build_engine()
    latencies = []
    began = time.perf_counter()
    for task_id in task_ids:
        start = time.perf_counter()
        engine.claim(task_id, actor=DISPATCHER, actor_groups=[DISPATCH_GROUP])
        engine.complete_task(task_id, actor=DISPATCHER, data=DISPATCH, actor_groups=[DISPATCH_GROUP])
        latencies.append(time.perf_counter() - start)
    seconds = time.perf_counter() - began
    engine.writer.kw["bind"].dispose()
    return Run(1, len(task_ids), seconds, latencies)


def over_http(port: int, token: str, task_ids: list[str], clients: int) -> Run:
    shares = [task_ids[n::clients] for n in range(clients)]
    latencies: list[float] = []
    failures: list[str] = []
    ready = threading.Barrier(clients + 1)
    lock = threading.Lock()

    def client(share: list[str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def post(path: str, body: dict | None = None) -> None:
            connection.request("POST", f"/api/v1{path}", body=json.dumps(body or {}), headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 200:
                failures.append(f"{path}: {response.status} {answer[:200]!r}")

        ready.wait()
        mine = []
        for task_id in share:
            start = time.perf_counter()
            post(f"/tasks/{task_id}/claim")
            post(f"/tasks/{task_id}/complete", {"data": DISPATCH})
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return Run(clients, len(task_ids), seconds, latencies)


@contextlib.contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[int]:
    """``complaints serve`` on a free port, until it answers /health."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(COMPLAINTS), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"complaints serve exited:\n{log.read_text()}")
                with contextlib.suppress(OSError):
                    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    probe.request("GET", "/health")
                    if probe.getresponse().status == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"complaints serve did not answer in 60 s:\n{log.read_text()}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def bench_database(name: str, url: str, folder: Path, rounds: int, pairs: int) -> list[tuple[float, float]]:
    """Per round: (http pairs/s at 16 / in-process pairs/s, p99 at 16 / p50 at 1)."""
    env = {**os.environ, "DATABASE_URL": url, "AUDIT_KEY_FILE": str(folder / "audit.key")}
    env.pop("AUDIT_KEY", None)
    env.pop("COMPLAINTS_ENV", None)
    os.environ.update({"DATABASE_URL": url, "AUDIT_KEY_FILE": env["AUDIT_KEY_FILE"]})
    os.environ.pop("AUDIT_KEY", None)
    complaints_command(env, "setup", "--bundle", str(BUNDLE), "--demo-users")
    token = complaints_command(env, "users", "token", DISPATCHER, "--label", "bench").strip()
    needed = rounds * (1 + len(CLIENTS)) * pairs
    began = time.perf_counter()
    task_ids = iter(record_complaints(needed, first_phone=0))
    print(f"{name}: {needed} complaints recorded in {time.perf_counter() - began:.0f} s", flush=True)
    ratios = []
    for round_number in range(1, rounds + 1):
        baseline = in_process([next(task_ids) for _ in range(pairs)])
        runs: dict[int, Run] = {}
        with server(env, folder / f"serve-{round_number}.log") as port:
            for clients in CLIENTS:
                runs[clients] = over_http(port, token, [next(task_ids) for _ in range(pairs)], clients)
        report(name, round_number, "in-process", baseline)
        for run in runs.values():
            report(name, round_number, "http", run)
        ratios.append(
            (runs[16].per_second / baseline.per_second, runs[16].quantile(0.99) / runs[1].quantile(0.5))
        )
    return ratios


def report(database: str, round_number: int, where: str, run: Run) -> None:
    print(
        f"{database} round {round_number} {where:10} clients {run.clients:2}: {run.per_second:6.1f} pairs/s "
        f"p50 {run.quantile(0.5) * 1000:6.1f} ms p99 {run.quantile(0.99) * 1000:7.1f} ms",
        flush=True,
    )


def summary(database: str, ratios: list[tuple[float, float]]) -> tuple[float, float]:
    speed = statistics.median(ratio for ratio, _ in ratios)
    tail = statistics.median(ratio for _, ratio in ratios)
    print(f"{database}: http_vs_inproc {speed:.2f} p99_ratio {tail:.2f} (medians of {len(ratios)} rounds)")
    return speed, tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=96, help="pairs per round per run (a multiple of 16)")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    args = parser.parse_args()
    wanted = [name.strip() for name in args.databases.split(",") if name.strip()]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    results: dict[str, tuple[float, float]] = {}
    for name in wanted:
        opener = {"sqlite": sqlite_database, "postgresql": postgres_database}[name]
        with tempfile.TemporaryDirectory(prefix=f"bench-http-{name}-") as folder:
            try:
                with opener(Path(folder)) as url:
                    results[name] = summary(
                        name, bench_database(name, url, Path(folder), args.rounds, args.pairs)
                    )
            except FileNotFoundError as missing:
                print(f"{name}: SKIPPED: {missing}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    speed, tail = results.get("sqlite") or next(iter(results.values()))
    print(f"http_vs_inproc {speed:.2f} p99_ratio {tail:.2f}")


if __name__ == "__main__":
    main()
