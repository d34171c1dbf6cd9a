"""``/metrics``: who may read it, and that requests, commands, timers and outages are counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.errors import NotFound
from tests.engine.support import engine_test_handlers, valid_bundle

TOKEN = "metrics-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def engine(make_engine):
    engine = make_engine(engine_test_handlers())
    engine.deploy(valid_bundle(), actor="owner")
    return engine


def samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def waiting_for_approval(engine) -> int:
    instance_id = engine.start(actor="intake").instance_id
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="intake", data={"amount": 500, "description": "desk"})
    return instance_id


def test_metrics_are_off_without_a_token_and_refused_without_the_right_one(make_app):
    assert make_app().test_client().get("/metrics").status_code == 404
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_request_latency_is_counted_by_route_not_by_path(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    before = samples(client)
    for _ in range(3):
        client.get("/language/en")
    client.get("/no/such/page/123")
    after = samples(client)
    name = "complaints_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/language/<code>", "status": "302"}
    assert value(after, name, **route) - value(before, name, **route) == 3
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 1


def test_commands_are_counted_by_kind_and_outcome(make_app, engine):
    app = make_app(METRICS_TOKEN=TOKEN)
    client, counted = app.test_client(), app.extensions["process_engine"]
    before = samples(client)
    instance_id = counted.start(actor="intake").instance_id
    [task] = counted.open_tasks(instance_id)
    with pytest.raises(NotFound):
        counted.claim("00000000-0000-0000-0000-000000000000", actor="intake")
    counted.claim(task.id, actor="intake")
    after = samples(client)

    def grew(kind: str, outcome: str) -> float:
        labels = {"kind": kind, "outcome": outcome}
        return value(after, "complaints_commands_total", **labels) - value(
            before, "complaints_commands_total", **labels
        )

    assert (grew("start", "ok"), grew("claim", "ok"), grew("claim", "not_found")) == (1, 1, 1)


def test_overdue_timers_and_their_firing_are_measured(make_app, engine, clock):
    waiting_for_approval(engine)
    waiting_for_approval(engine)
    clock.advance(timedelta(hours=3))  # both timers (due after 2 h) are an hour overdue
    reader = make_app(METRICS_TOKEN=TOKEN, CLOCK=clock).test_client()
    before = samples(reader)
    assert value(before, "complaints_timers_overdue") == 2
    assert value(before, "complaints_timers_waiting") == 2
    assert value(before, "complaints_timers_overdue_oldest_seconds") == 3600

    scheduled = make_app(METRICS_TOKEN=TOKEN, CLOCK=clock, SCHEDULER=True)
    assert scheduled.extensions["node_scheduler"].jobs["timers"].caught_up.wait(timeout=60)
    after = samples(reader)
    assert value(after, "complaints_timers_overdue") == 0
    assert value(after, "complaints_timers_fired_total") - value(before, "complaints_timers_fired_total") == 2
    lateness = "complaints_timer_lateness_seconds_sum"
    assert value(after, lateness) - value(before, lateness) == pytest.approx(2 * 3600)
    scheduled.extensions.pop("node_scheduler").shutdown()


def test_database_errors_are_counted(make_app, tmp_path):
    broken = make_app(METRICS_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")
    client = broken.test_client()
    before = samples(client)
    assert client.get("/health/ready").status_code == 503
    after = samples(client)
    errors = "complaints_database_errors_total"
    assert value(after, errors, part="health") - value(before, errors, part="health") == 1
    assert value(after, errors, part="metrics") - value(before, errors, part="metrics") == 1
