"""Server time of the inbox page at 100,000 open tasks.

Fills a SQLite file with 100,000 open tasks (50,000 instances, 12 groups, a third
urgent, dues spread over a week, some claimed), then requests the inbox as an agent
of two groups through the real Flask app (login, CSRF, query, template) for a mix of
views: first page, a later page, one group, overdue only, a search. As a baseline in
the same run it times the health endpoint (one trivial query through the same app).
Last line: ``p95_ms <x>`` over all inbox requests.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from bench.stats import percentile  # noqa: E402
from engine.audit_key import create_key_file  # noqa: E402
from engine.bundle import load_bundle  # noqa: E402
from engine.deployments import latest_deployment  # noqa: E402
from engine.models import HumanTask, Instance  # noqa: E402
from web import accounts, create_app  # noqa: E402
from web.system import upgrade_schema  # noqa: E402

BUNDLE = Path(__file__).resolve().parents[1] / "bpmn"
GROUPS = ["intake", "cs_center", "supervisor", *[f"dept:d{n}" for n in range(9)]]
AGENT_GROUPS = ["cs_center", "dept:d1"]


def fill(engine, tasks: int) -> None:
    rng = random.Random(11)
    now = datetime.now(UTC)
    # The real procedure, so the inbox reads the version's config (e.g. the [warnings] share).
    engine.deploy(load_bundle(BUNDLE), actor="bench")
    with engine.writer() as session, session.begin():
        deployment_id = latest_deployment(session).id
        instances = tasks // 2
        session.execute(
            insert(Instance),
            [
                {
                    "id": n,
                    "deployment_id": deployment_id,
                    "process_id": "complaint",
                    "business_key": f"TS-{n:08d}",
                    "status": "running",
                    "state": "",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "started_by": "bench",
                }
                for n in range(1, instances + 1)
            ],
        )
        rows = []
        for n in range(tasks):
            group = rng.choice(GROUPS)
            due = now + timedelta(minutes=rng.randint(-600, 7 * 24 * 60))
            rows.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "instance_id": n % instances + 1,
                    "element_id": "task_handle",
                    "name": "Handle the work order",
                    "lane": group,
                    "candidate_group": group,
                    "form": None,
                    "status": "open",
                    "priority": rng.choice((0, 0, 10)),
                    "due_at": due,
                    "due_sort": due,
                    "assignee": "agent" if rng.random() < 0.01 else None,
                    "created_at": now - timedelta(minutes=rng.randint(0, 600)),
                }
            )
        for start in range(0, len(rows), 5000):
            session.execute(insert(HumanTask), rows[start : start + 5000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        create_key_file(Path(folder) / "audit.key")  # the audit key beside the database
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{folder}/inbox.sqlite3",
                "SECRET_KEY": "bench",
                "INSTANCE_PATH": folder,
            }
        )
        engine = app.extensions["process_engine"]
        upgrade_schema(engine)
        fill(engine, args.tasks)
        with engine.writer() as session, session.begin():
            accounts.create_user(session, "agent", "agent-password", "Agent", AGENT_GROUPS, ["agent"])
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        client.post("/login", data={"username": "agent", "password": "agent-password"})
        views = ["/inbox", "/inbox?page=5", "/inbox?group=dept:d1", "/inbox?overdue=1", "/inbox?q=TS-0000123"]
        for view in views:  # warm up
            assert client.get(view).status_code == 200, view
        inbox_ms, health_ms = [], []
        for _ in range(args.rounds):
            for view in views:
                started = time.perf_counter()
                response = client.get(view)
                inbox_ms.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
                started = time.perf_counter()
                client.get("/health")
                health_ms.append((time.perf_counter() - started) * 1000)
        p95 = percentile(inbox_ms, 0.95)
        print(
            f"{args.tasks} open tasks; inbox median {statistics.median(inbox_ms):.1f} ms, "
            f"health median {statistics.median(health_ms):.1f} ms, "
            f"ratio {statistics.median(inbox_ms) / statistics.median(health_ms):.1f}"
        )
        print(f"p95_ms {p95:.1f}")


if __name__ == "__main__":
    main()
