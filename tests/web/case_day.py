"""One complaint's working day driven through the engine (real diagrams, real handlers).

Recorded by ivy (phone), dispatched by dora to the network department, ned asks for an
extension (E3) which the deciding group approves, ned replies, dora returns the reply
once (E5) and accepts the second, replies to the customer and visits: closed.
Used by the case-file web tests and the browser test.
"""

from __future__ import annotations

from tests.procedure import support
from tests.procedure.support import at, complete, iso, open_task

PHONE = "13912345678"
NAME = "李先生"
DESCRIPTION = "宽带每晚断线，已报修两次无人处理 The broadband drops every night"
RETURN_REASON = "未说明恢复时间 Restoration time missing"


def recorded(engine, clock, starter: str = "ivy") -> int:
    clock.set(at(27, 9))
    instance_id = engine.start(actor=starter).instance_id
    record = support.record(customer_name=NAME, customer_phone=PHONE, description=DESCRIPTION)
    complete(engine, instance_id, "task_record_complaint", record, actor=starter)
    return instance_id


def closed_day(engine, clock) -> int:
    """The whole day; returns the instance id of the closed complaint."""
    instance_id = recorded(engine, clock)
    clock.set(at(27, 10))
    complete(engine, instance_id, "task_review_dispatch", support.dispatch(), actor="dora")
    support.progress_told(engine, instance_id, actor="ned")
    clock.set(at(27, 14))
    complete(engine, instance_id, "task_handle_order", support.extension_request(iso(30, 18)), actor="ned")
    decision = open_task(engine, instance_id, "task_decide_extension")
    complete(
        engine, instance_id, "task_decide_extension", {"extension_approved": True}, actor=_member(decision)
    )
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", support.work_order_reply(), actor="ned")
    complete(
        engine,
        instance_id,
        "task_review_reply",
        support.review(qualified=False, return_reason=RETURN_REASON),
        actor="dora",
    )
    complete(engine, instance_id, "task_handle_order", support.work_order_reply(), actor="ned")
    complete(engine, instance_id, "task_review_reply", support.review(), actor="dora")
    complete(engine, instance_id, "task_reply_customer", support.customer_reply(), actor="dora")
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=True), actor="dora")
    return instance_id


def _member(task) -> str:
    return {"supervisor": "sue", "cs_center": "dora", "dept:network": "ned"}.get(task.candidate_group, "sue")
