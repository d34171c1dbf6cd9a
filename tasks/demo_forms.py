"""What each user task's form receives in the demo (``tasks/demo.py``), by element: THE place to adjust.

When the proc branch (or a process owner) changes a form or a validator, the demo's data for
that task is here and only here; a refused step names the complaint and the element.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasks import records
    from tasks.demo_plan import Story

# The department agent of each demo department (`complaints setup --demo-users`): the one who
# handles and replies, also as a batch's dedicated handler (T4) or a major complaint's replier (R5).
DEPARTMENT_AGENTS = {"network": "network", "billing": "billing"}


def record(story: Story, now: datetime, repeat_of: records.Complaint | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": story.channel,
        "customer_name": story.customer,
        "customer_phone": story.phone,
        "business_category": story.rng.choice(
            ["internet_broadband", "fixed_phone", "cards_caller_registration"]
        ),
        "nature_category": story.rng.choice(["installation_relocation", "staff_service", "other"]),
        "complaint_types": [story.kind],
        "description": story.rng.choice(
            [
                "宽带频繁掉线 Broadband keeps dropping",
                "装机预约未上门 Installer missed the appointment",
                "话费多扣 Charged twice this month",
                "营业员态度差 Rude staff at the counter",
                "固话无拨号音 No dial tone on the landline",
            ]
        ),
        "first_contact_resolved": story.path == "first_contact",
    }
    a5 = {
        "visit": {"customer_confirmed": True},
        "letter": {"document_archive_ref": f"LT-{story.index:05d}"},
        "fax": {"document_archive_ref": f"FX-{story.index:05d}"},
        "email": {"details_verified": True},
        "internet": {"details_verified": True},
    }
    data.update(a5.get(story.channel, {}))
    if story.path == "first_contact":
        data.update(
            first_contact_resolution="当场解释并处理 Explained and fixed on the call",
            customer_accepted=True,
        )
    if story.kind == "batch":  # T4: tagged, and the department told at once
        data.update(batch_tag=story.batch_tag, batch_departments_notified=[story.department])
    if story.kind == "escalated":
        data["outside_deadline"] = (now + timedelta(days=3)).isoformat(timespec="minutes")
    if repeat_of is not None:
        data.update(
            customer_phone=repeat_of.customer_phone,
            customer_name=repeat_of.customer_name,
            repeat_of=repeat_of.number,
            repeat_reason="问题再次出现 The problem came back",
        )
    return data


def dispatch(story: Story) -> dict[str, Any]:
    agent = DEPARTMENT_AGENTS[story.department]
    data = {"department": story.department, "review_note": "记录完整 Record complete"}
    if story.kind == "major":  # T1, R2/R5
        data.update(
            reported_upward_to="分管副总 Deputy general manager",
            emergency_script="已关注，正在全力处理 We are on it",
            handling_plan="责任部门牵头 The department concerned leads",
            dedicated_replier=agent,
            serious_impact=True,  # H6: reported upward, coordinated, assessed; then watched daily
            coordinated_with=["regulator"],
            impact_assessment="多户受影响，可能扩大 Several households affected; may spread",
        )
    if story.kind == "batch":  # T4
        data["batch_handler"] = "handler"  # the branch complaint handler following the batch
    return data


def approve_plan() -> dict[str, Any]:
    """T1: the supervisor approves the major complaint's plan and reports it on."""
    return {"plan_approved": True, "reported_onward_to": "省公司客服部 Provincial customer service"}


def handling(story: Story) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cause": "分光器端口故障 Faulty splitter port",
        "handling_process": "更换端口并上门调试 Port replaced, tested on site",
        "handling_final": True,
        "result": "已恢复 Service restored",
        "service_restored": True,
        "concentrated": False,
        "customer_attitude": "认可 Accepts the result",
    }
    if story.kind == "major":  # H4: likely to be disputed later, so the handling keeps evidence
        data.update(dispute_likely=True, evidence_refs=[f"REC-{story.index:05d}-handling"])
    if story.kind == "escalated":  # E1, E2, H7
        data.update(
            company_responsible=True,
            responsible_department="网络部 Network",
            handling_summary="更换端口 Port replaced",
            earlier_authority_complaint=False,
            first_complaint_at="2026-11-20 10:00 来电 by phone",
            first_findings="端口故障，已更换 Faulty port, replaced",
            first_acceptance="客户当时认可 Accepted then",
            transfer_findings="复查线路正常 Line checked again: working",
            final_opinion="维持原处理并致歉 Handling upheld, apology given",
            miit_feedback_form=f"FB-{story.index:05d}",
        )
    return data


def extension_request(handling_due: datetime) -> dict[str, Any]:
    return {
        "request_extension": True,
        "extension_progress": "已更换光猫，待线路改造 Modem replaced, line rework pending",
        "extension_reason": "需要物业审批 Needs the landlord's permit",
        "extension_until": (handling_due + timedelta(days=1)).isoformat(timespec="minutes"),
    }


def extension_decision(approved: bool) -> dict[str, Any]:
    if approved:
        return {"extension_approved": True}
    return {"extension_approved": False, "extension_note": "理由不充分 Not enough reason"}


def review(qualified: bool) -> dict[str, Any]:
    if qualified:
        return {"reply_qualified": True}
    return {"reply_qualified": False, "return_reason": "未说明恢复时间 Restoration time missing"}


REPLY_TEXT = "您反映的问题已处理，给您带来不便深表歉意 It is fixed; we apologise"


def reply(reached: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"reply_text": REPLY_TEXT, "reply_method": "phone", "customer_reached": reached}
    if not reached:
        data["attempt_note"] = "关机 Phone off"
    return data


def written_reply() -> dict[str, Any]:
    """R3: an e-mail reply, reviewed by specialist and legal and approved before it is sent."""
    return {"reply_text": REPLY_TEXT, "reply_method": "email"}


def written_review() -> dict[str, Any]:
    return {"review_approved": True}


def send_written_reply(story: Story) -> dict[str, Any]:
    return {"sent_reference": f"MSG-{story.index:05d}"}


def retry(last: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"customer_reached": False, "attempt_note": "仍无法接通 Still unreachable"}
    if last:
        data.update(declare_unreachable=True, unreachable_outcome="短信告知处理结果 Result sent by SMS")
    return data


def return_visit(story: Story, satisfied: bool) -> dict[str, Any]:
    if satisfied:
        data: dict[str, Any] = {"satisfied": True, "customer_opinion": "满意 Satisfied"}
        if story.kind == "major":  # H4: the customer's agreement, recorded
            data["agreement_evidence"] = [f"REC-{story.index:05d}-visit"]
        return data
    return {
        "satisfied": False,
        "customer_opinion": "仍不满意 Still unhappy",
        "dissatisfaction_reason": "问题反复 It keeps coming back",
    }


def analysis(judgement: str) -> dict[str, Any]:
    data = {
        "customer_calmed": True,
        "analysis": "端口仍不稳定 The port still drops",
        "judgement": judgement,
    }
    if judgement == "unreasonable":
        data["unreasonable_grounds"] = "要求超出服务协议 Demands beyond the service agreement"
    return data


def report_outside() -> dict[str, Any]:
    return {
        "materials_reviewed": True,
        "submitted_to": "工信部 MIIT",
        "submission_summary": "已核实处理，客户认可 Verified and solved, customer accepts",
    }
