"""Issue 10, running complaints are not broken: a complaint started on the flat first version
(kept as the fixture ``bundles/flat_v1``) keeps running and finishes on it after the map and
its paths are deployed; new complaints start on the new structure.
"""

from __future__ import annotations

from pathlib import Path

from engine import migration_apply
from engine.bundle import load_bundle
from tasks.registry import REGISTRY
from tests.procedure import support
from tests.procedure.support import at, complete, open_elements

FLAT_V1 = Path(__file__).parent / "bundles" / "flat_v1"


def test_a_flat_complaint_finishes_on_the_flat_version_while_new_ones_start_on_the_map(make_engine, clock):
    engine = make_engine(REGISTRY)
    engine.deploy(load_bundle(FLAT_V1), actor="process_owner")
    running = engine.start(actor="agent").instance_id
    complete(engine, running, "task_record_complaint", support.record())
    clock.set(at(27, 10))
    complete(engine, running, "task_review_dispatch", support.dispatch())
    flat_deployment = engine.instance(running).deployment_id

    engine.deploy(support.bundle(), actor="process_owner")  # v2: the map and one file per path
    fresh = engine.start(actor="agent").instance_id
    assert engine.instance(fresh).deployment_id != flat_deployment
    complete(engine, fresh, "task_record_complaint", support.record(customer_phone="13900139000"))
    assert open_elements(engine, fresh) == ["task_review_dispatch"]  # inside call_review_dispatch

    support.progress_told(engine, running)
    for element_id, data in [
        ("task_handle_order", support.work_order_reply()),
        ("task_review_reply", support.review()),
        ("task_reply_customer", support.customer_reply()),
        ("task_return_visit", support.return_visit()),
    ]:
        clock.set(clock.now() + (at(27, 11) - at(27, 10)))
        complete(engine, running, element_id, data)
    finished = engine.instance(running)
    assert (finished.status, finished.deployment_id) == ("completed", flat_deployment)
    assert support.complaint_row(engine, running).outcome == "closed"


def test_the_migration_plan_says_why_a_flat_complaint_cannot_move_naming_the_element(make_engine, clock):
    """The dry run from the flat v1 to the map refuses the complaint, naming each element and the
    call activity it moved into (a running token cannot enter a path that never started)."""
    engine = make_engine(REGISTRY)
    engine.deploy(load_bundle(FLAT_V1), actor="process_owner")
    running = engine.start(actor="agent").instance_id
    complete(engine, running, "task_record_complaint", support.record())
    engine.deploy(support.bundle(), actor="process_owner")
    report = migration_apply.dry_run(engine, 1, 2)
    [instance] = [row for row in report.instances if row.instance_id == running]
    assert instance.outcome == "blocked"
    moved = {
        blocker.element_id: blocker.detail
        for blocker in instance.blockers
        if blocker.code == "moved_into_call"
    }
    assert moved["task_record_complaint"] == "call_first_contact"
    assert moved["task_review_dispatch"] == "call_review_dispatch"
    assert moved["timer_dispatch_overdue"] == "call_review_dispatch"
    [review] = [blocker for blocker in instance.blockers if blocker.element_id == "task_review_dispatch"]
    assert str(review) == (
        "the task '审核派单 Review and dispatch' (task_review_dispatch) moved into the call activity "
        "call_review_dispatch in v2"
    )
