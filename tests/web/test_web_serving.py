"""``complaints serve`` as an operator runs it: gunicorn workers, one scheduler process, a real port.

The server runs as a subprocess on an SQLite file; waiting for it is polling its port,
since its clock is the real one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.diagrams import timer_only, write_bundle
from engine.bundle import load_bundle
from engine.clock import FrozenClock
from engine.models import Instance, TimerFiring
from web.system import build_engine, upgrade_schema

OVERDUE = 2_000
COMPLAINTS = str(Path(sys.executable).with_name("complaints"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, timeout: float = 1.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = condition()
        except (OSError, urllib.error.URLError):
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def node_metrics(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": "Bearer t"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


@pytest.fixture
def node_database(tmp_path):
    """A database file on which 2,000 instances wait on timers that fell due a day ago."""
    url = f"sqlite:///{tmp_path / 'node.sqlite3'}"
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=2))
    engine = build_engine(url, clock=clock)
    upgrade_schema(engine)
    bundle = write_bundle(tmp_path / "bundle", "timer.bpmn", timer_only(), "timer_process")
    engine.deploy(load_bundle(bundle), actor="test")
    wake_at = (clock.now() + timedelta(days=1)).isoformat()
    for _ in range(OVERDUE):
        engine.start(actor="test", data={"wake_at": wake_at})
    engine.writer.kw["bind"].dispose()
    return url, engine


@pytest.fixture
def start_node(tmp_path):
    servers: list[subprocess.Popen] = []

    def start(url: str, *extra: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        server = subprocess.Popen(
            [COMPLAINTS, "serve", "--port", str(port), "--workers", "2", "--threads", "2", *extra],
            cwd=tmp_path,
            env=os.environ
            | {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"), "METRICS_TOKEN": "t"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        servers.append(server)
        return server, port

    yield start
    for server in servers:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.mark.slow
def test_a_restarted_node_answers_at_once_and_fires_each_overdue_timer_once(node_database, start_node):
    """/health within 2 s of the node's start; then every overdue timer fires, each exactly once.

    The start is the moment ``complaints serve`` announces itself (its checks done, its
    Python loaded: about a second more on this machine, which timers do not change).
    """
    url, engine = node_database
    spawned = time.monotonic()
    server, port = start_node(url)
    announced = server.stdout.readline().decode()
    assert "with 2 workers x 2 threads and one scheduler process" in announced
    started = time.monotonic()
    status, body = wait_for(lambda: get(port, "/health"), seconds=30, what="/health answers")
    answered_after = time.monotonic() - started
    print(
        f"/health answered {answered_after:.2f} s after the start ({time.monotonic() - spawned:.2f} s "
        f"after the command was run) with {body['overdue_timers']} timers overdue"
    )
    assert status == 200
    assert answered_after < 2.0, f"/health answered {answered_after:.1f} s after the start"
    assert body["overdue_timers"] > 0  # it answered while the backlog was still firing
    assert body["scheduler"] in ("starting", "running")
    wait_for(lambda: get(port, "/health")[1]["scheduler"] == "running", seconds=30, what="scheduler runs")

    wait_for(lambda: get(port, "/health")[1]["overdue_timers"] == 0, seconds=600, what="the backlog fired")
    print(f"the backlog fired {time.monotonic() - started:.1f} s after the start")
    with engine.reader() as session:
        assert session.scalar(select(func.count()).select_from(TimerFiring)) == OVERDUE
        assert session.scalar(select(func.count(func.distinct(TimerFiring.task_id)))) == OVERDUE
        assert (
            session.scalar(select(func.count()).select_from(Instance).where(Instance.status == "running"))
            == 0
        )
        fired_by = set(session.scalars(select(TimerFiring.fired_by).distinct()))
    assert len(fired_by) == 1, f"one scheduler per node, yet firings came from {fired_by}"
    assert f"complaints_timers_fired_total {float(OVERDUE)}" in node_metrics(port)  # all processes summed

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) == 0
    output = server.stdout.read().decode()
    assert "development server" not in output.lower()


def test_the_development_server_is_refused_in_production(run, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_ENV", "production")
    refused = run("serve", "--dev")
    assert refused.exit_code == 1
    assert "--dev: refused with COMPLAINTS_ENV=production" in refused.output
