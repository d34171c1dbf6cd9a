"""The production server of one node: gunicorn for requests, one scheduler process beside it.

``complaints serve`` runs :func:`serve_node`, a small supervisor with two children:

- the web server, forked from it (or run alone as ``python -m web.server``): a gunicorn
  master with worker processes, each with threads, none of which runs a timer;
- the scheduler, ``python -m web.scheduler_process``: timers and breach warnings, once
  per node, in a process of its own, so firing a backlog of timers never takes the
  interpreter lock from a request (restarted if it dies).

The scheduler is not a child of the gunicorn master on purpose: the master reaps every
child it has and halts on exit codes it reserves for its workers.

Both children share a runtime folder (``COMPLAINTS_RUNTIME_DIR``): the scheduler's pid,
read by ``/health``, and the per-process files of Prometheus metrics
(``PROMETHEUS_MULTIPROC_DIR``), which ``/metrics`` adds up.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from gunicorn.app.base import BaseApplication

from web.engine_access import engine_of

log = logging.getLogger("complaints.server")

RUNTIME_DIR_SETTING = "COMPLAINTS_RUNTIME_DIR"
METRICS_DIR_SETTING = "PROMETHEUS_MULTIPROC_DIR"
SCHEDULER_PID_FILE = "scheduler.pid"
RESTART_DELAYS = (1, 2, 5, 10, 30, 60)  # seconds before restarting a scheduler that died


@dataclass(frozen=True)
class ServerOptions:
    host: str
    port: int
    workers: int
    threads: int


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """One process per core: the engine's work is CPU-bound Python, so more processes only queue."""
    return max(2, cores())


DEFAULT_THREADS = 4  # per worker: requests mostly wait on the database

# Full collections only after 100 middle ones (Python's default: 10), see settle_heap.
GC_THRESHOLDS = (700, 10, 100)


def settle_heap() -> None:
    """Keep the garbage collector's full passes off the request path of a long-running process.

    Once the app is loaded, ~170,000 objects (modules, SQLAlchemy's and SpiffWorkflow's
    classes, the parsed diagrams) live as long as the process; a full collection walked
    them all, 130-250 ms in which a request (maybe holding SQLite's write lock) stood
    still: the p99 of a single client. Frozen, they are never walked again (and forked
    workers keep sharing their pages); full passes are rarer, and walk what is left,
    mostly the engine's bounded cache of live workflows.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# ---------------------------------------------------------------------- the supervisor


def serve_node(options: ServerOptions) -> int:
    """Run the web server and the scheduler until the web server stops; its exit code.

    The web server is forked from this process, whose modules are loaded already, so the
    node answers about a second sooner than a freshly started interpreter would.
    """
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder was set")
    runtime = Path(tempfile.mkdtemp(prefix="complaints-node-"))
    metrics = runtime / "metrics"
    metrics.mkdir()
    os.environ.update({RUNTIME_DIR_SETTING: str(runtime), METRICS_DIR_SETTING: str(metrics)})
    (runtime / SCHEDULER_PID_FILE).write_text("starting\n")
    web = _fork_web_server(options)
    scheduler = SchedulerKeeper(runtime, dict(os.environ))
    stopping = threading.Event()

    def stop(signum, _frame) -> None:
        stopping.set()
        web.stop()
        scheduler.stop()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        _wait_until_listening(options, web)  # requests first: the scheduler's backlog can wait a second
        scheduler.start()
        code = web.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        scheduler.stop()
        web.stop()
        web.wait()
        shutil.rmtree(runtime, ignore_errors=True)
    return 0 if stopping.is_set() else code


class _ForkedWebServer:
    """The gunicorn master as a child of the supervisor (a pid, not a Popen)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        while self.returncode is None:
            try:
                _pid, status = os.waitpid(self.pid, 0)
            except InterruptedError:
                continue
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def stop(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGTERM)


def _fork_web_server(options: ServerOptions) -> _ForkedWebServer:
    pid = os.fork()
    if pid:
        return _ForkedWebServer(pid)
    code = 1
    try:
        bind = f"{options.host}:{options.port}"
        WebServer(gunicorn_settings(bind, options.workers, options.threads)).run()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os._exit(code)


def _wait_until_listening(options: ServerOptions, web: _ForkedWebServer, seconds: float = 30.0) -> None:
    """Until the web server accepts connections, it exits, or ``seconds`` pass."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(options.host, options.host)
    deadline = time.monotonic() + seconds
    while web.poll() is None and time.monotonic() < deadline:
        try:
            with socket.create_connection((host, options.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)


class SchedulerKeeper:
    """Keeps one scheduler process running on this node, restarting it (with a growing delay) if it dies."""

    def __init__(self, runtime: Path, environment: dict[str, str]) -> None:
        self._pid_file = runtime / SCHEDULER_PID_FILE
        self._environment = environment
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep_running, name="scheduler-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _keep_running(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "web.scheduler_process"], env=self._environment
                )
            self._pid_file.write_text(f"{self._process.pid}\n")
            started = time.monotonic()
            code = self._process.wait()
            self._pid_file.unlink(missing_ok=True)
            if self._stopping.is_set():
                return
            failures = 1 if time.monotonic() - started > 300 else failures + 1  # a long run starts over
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1]
            print(
                f"complaints: the scheduler process exited with code {code}; restarting it in {delay} s",
                file=sys.stderr,
                flush=True,
            )
            self._stopping.wait(delay)


def scheduler_state() -> str:
    """For /health in a worker: "running" when this node's scheduler process is alive."""
    runtime = os.environ.get(RUNTIME_DIR_SETTING)
    if not runtime:
        return "off"
    try:
        written = (Path(runtime) / SCHEDULER_PID_FILE).read_text().strip()
        if written == "starting":  # after the web server, once it listens
            return "starting"
        os.kill(int(written), 0)
    except (OSError, ValueError):
        return "stopped"
    return "running"


# ---------------------------------------------------------------------- the web server


class WebServer(BaseApplication):
    """gunicorn run from Python, so that ``complaints serve`` keeps its own options."""

    def __init__(self, settings: dict[str, object]) -> None:
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self):
        from web import create_app

        app = create_app({"SCHEDULER": False})
        restore_default_version(engine_of(app))
        settle_heap()  # in the master, before the workers are forked
        return app


def restore_default_version(engine) -> None:
    """Parse the version new complaints start on once, in the master, so every worker has it.

    Otherwise each worker's first command spends ~0.1 s restoring the diagrams, a stall
    the first callers after every (re)start wait through. The connection used is closed
    again before the workers are forked, so none of them inherits it.
    """
    try:
        deployment = engine.default_deployment()
        if deployment is not None:
            engine.runtime(deployment.id)
    except Exception as error:  # no database yet, or not deployed: workers restore it when asked
        log.warning("the default version was not restored before forking: %s", error)
    finally:
        engine.database.pool.dispose()


def _child_exit(_server, worker) -> None:
    """A worker's live gauges leave with it (prometheus-client multiprocess mode)."""
    if os.environ.get(METRICS_DIR_SETTING):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def gunicorn_settings(bind: str, workers: int, threads: int) -> dict[str, object]:
    return {
        "bind": bind,
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 120,  # a report or an export may take a while; a stuck worker is replaced after
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,  # the reverse proxy logs requests; /metrics counts them
        "errorlog": "-",
        "proc_name": "complaints",
        # The app is built once in the master and forked: workers answer as soon as they exist.
        # create_app opens no database connection, so no worker inherits one.
        "preload_app": True,
        "child_exit": _child_exit,
        # X-Forwarded-* are the app's business (TRUSTED_PROXIES), not gunicorn's.
        "forwarded_allow_ips": "",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m web.server", description="The node's gunicorn master.")
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    arguments = parser.parse_args(argv)
    WebServer(gunicorn_settings(arguments.bind, arguments.workers, arguments.threads)).run()


if __name__ == "__main__":
    main()
