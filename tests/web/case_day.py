"""One complaint's working day driven through the engine (real diagrams, real handlers).

Recorded by the intake agent (phone), dispatched by the centre to the network department,
the department asks for an extension (E3) which is approved, replies, the centre returns
the reply once (E5) and accepts the second, replies to the customer and visits: closed.
Every free text is Chinese only, so a Chinese page showing it carries no English.
Used by the case-file web tests and the browser test.
"""

from __future__ import annotations

from tests.procedure import support
from tests.procedure.support import at, complete, iso, open_task

PHONE = "13912345678"
NAME = "李先生"
DESCRIPTION = "宽带每晚断线，已报修两次无人处理"
RETURN_REASON = "未说明恢复时间"
CAUSE = "分光器端口故障"
REPLY_TEXT = "您的宽带已修复，给您带来不便深表歉意"
# Who does what: the procedure tests' people (tests/web/conftest.py STAFF).
PEOPLE = {"intake": "ivy", "cs_center": "dora", "dept:network": "ned", "supervisor": "sue"}


def recorded(engine, clock, people=PEOPLE) -> int:
    clock.set(at(27, 9))
    instance_id = engine.start(actor=people["intake"]).instance_id
    record = support.record(customer_name=NAME, customer_phone=PHONE, description=DESCRIPTION)
    complete(engine, instance_id, "task_record_complaint", record, actor=people["intake"])
    return instance_id


def closed_day(engine, clock, people=PEOPLE) -> int:
    """The whole day; returns the instance id of the closed complaint."""
    centre, department = people["cs_center"], people["dept:network"]
    instance_id = recorded(engine, clock, people)
    clock.set(at(27, 10))
    dispatch = support.dispatch(review_note="记录完整")
    complete(engine, instance_id, "task_review_dispatch", dispatch, actor=centre)
    engine.send_message(
        instance_id, "progress_reply", actor=department, payload={"note": "正在处理", "by": department}
    )
    clock.set(at(27, 14))
    extension = support.extension_request(
        iso(30, 18), extension_progress="已更换光猫，待线路改造", extension_reason="需要市政审批"
    )
    complete(engine, instance_id, "task_handle_order", extension, actor=department)
    decision = open_task(engine, instance_id, "task_decide_extension")
    decider = people.get(decision.candidate_group, people["supervisor"])
    complete(engine, instance_id, "task_decide_extension", {"extension_approved": True}, actor=decider)
    clock.set(at(28, 9))
    complete(engine, instance_id, "task_handle_order", _reply(), actor=department)
    returned = support.review(qualified=False, return_reason=RETURN_REASON)
    complete(engine, instance_id, "task_review_reply", returned, actor=centre)
    complete(engine, instance_id, "task_handle_order", _reply(restoration_time=iso(28, 8)), actor=department)
    complete(engine, instance_id, "task_review_reply", support.review(review_note="合格"), actor=centre)
    reply = support.customer_reply(reply_text=REPLY_TEXT)
    complete(engine, instance_id, "task_reply_customer", reply, actor=centre)
    visit = support.return_visit(satisfied=True, customer_opinion="满意")
    complete(engine, instance_id, "task_return_visit", visit, actor=centre)
    return instance_id


def _reply(**changes) -> dict:
    return support.work_order_reply(
        cause=CAUSE,
        handling_process="更换端口并上门调试",
        result="已恢复正常",
        customer_attitude="认可",
        **changes,
    )
