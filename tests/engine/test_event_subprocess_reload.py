"""An event subprocess triggered before its spec objects were built again still ends.

SpiffWorkflow links a signal- or message-started event subprocess to its process start only
on the spec object in memory, when first triggered; a migration's target version (or a
restart) builds fresh spec objects, and without ``engine.spiff_state`` restoring that link
the triggered subprocess fails when it ends ("No input task connected"). Real bundle, real
migration, simulated time from Friday 2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

from engine import migration_runs
from tests.engine.test_migration_running import engine, recorded, v2_bundle  # noqa: F401
from tests.procedure.support import at, complete, open_elements


def test_l2_alert_raised_before_a_migration_is_handled_after_it(engine, clock, tmp_path):  # noqa: F811
    """L2: the supervisor alert (the map's signal-started event subprocess) opened on v1 is
    completed on v2; the complaint carries on at its review task."""
    instance_id = recorded(engine)
    clock.set(at(27, 11, 0, 1))
    engine.fire_all_due()
    assert open_elements(engine, instance_id) == ["task_dispatch_breach_alert", "task_review_dispatch"]
    engine.deploy(v2_bundle(tmp_path), actor="owner")
    run_id = migration_runs.start_run(engine, 1, 2, actor="admin", mapping={})
    migration_runs.run(engine, run_id)
    assert engine.runtime(engine.instance(instance_id).deployment_id).version == 2

    complete(engine, instance_id, "task_dispatch_breach_alert", {"supervision_note": "已督办 Supervised"})
    assert open_elements(engine, instance_id) == ["task_review_dispatch"]
