"""Valid form payloads of the complaint's main path, shared by the scenario tests and the bench.

Plain data with no imports of the product, so ``bench/engine.py`` drives exactly the
complaint the tests drive (``tests.procedure.support`` re-exports these) while the tests
stay importable without ``bench/``.
"""

from __future__ import annotations

from typing import Any


def record(**changes: Any) -> dict[str, Any]:
    """A valid intake record (phone, ordinary, not resolved at first contact): A1-A5, C1-C5."""
    data = {
        "channel": "phone",
        "customer_name": "王女士",
        "customer_phone": "13800138000",
        "business_category": "internet_broadband",
        "nature_category": "installation_relocation",
        "complaint_types": ["ordinary"],
        "description": "宽带装机预约三次未上门 Broadband installation missed three appointments",
        "first_contact_resolved": False,
    }
    data.update(changes)
    return data


def dispatch(**changes: Any) -> dict[str, Any]:
    """L2: the centre reviews the record and dispatches it to a department."""
    data = {"department": "network", "review_note": "记录完整 Record complete"}
    data.update(changes)
    return data


def progress_note() -> dict[str, Any]:
    """L1: the payload of the message telling that the customer heard the progress."""
    return {"note": "正在处理 Being handled"}


def work_order_reply(**changes: Any) -> dict[str, Any]:
    """A valid W1-W5 reply for a problem that is not concentrated."""
    data = {
        "cause": "分光器端口故障 Faulty splitter port",
        "handling_process": "更换端口并上门安装 Port replaced, installed on site",
        "handling_final": True,
        "result": "已开通 Service working",
        "service_restored": True,
        "concentrated": False,
        "customer_attitude": "认可 Accepts the result",
    }
    data.update(changes)
    return data


def escalated_work_order_reply(**changes: Any) -> dict[str, Any]:
    """A valid reply to an escalated complaint: E1 first, then E2's account in the original's order."""
    return work_order_reply(
        **{
            "company_responsible": True,
            "responsible_department": "网络部 Network",
            "handling_summary": "更换端口 Port replaced",
            "earlier_authority_complaint": False,
            "first_complaint_at": "2026-11-20 10:00 来电 by phone",
            "first_findings": "端口故障，已更换 Faulty port, replaced",
            "first_acceptance": "客户当时认可 Accepted then",
            "transfer_findings": "复查线路正常 Line checked again: working",
            "final_opinion": "维持原处理并致歉 Handling upheld, apology given",
            "miit_feedback_form": "FB-2026-001",
            **changes,
        }
    )


def review(qualified: bool = True, **changes: Any) -> dict[str, Any]:
    """E4: the centre's review of the department's reply."""
    data: dict[str, Any] = {"reply_qualified": qualified}
    if not qualified:
        data["return_reason"] = "未说明恢复时间 Restoration time missing"
    data.update(changes)
    return data


def customer_reply(**changes: Any) -> dict[str, Any]:
    """R1: the reply to the customer."""
    data = {
        "reply_text": "您的宽带已开通，给您带来不便深表歉意 Your broadband works; we apologise",
        "reply_method": "phone",
        "customer_reached": True,
    }
    data.update(changes)
    return data


def return_visit(satisfied: bool = True, **changes: Any) -> dict[str, Any]:
    """V1: the return visit."""
    data: dict[str, Any] = {"satisfied": satisfied, "customer_opinion": "满意 Satisfied"}
    if not satisfied:
        data.update(customer_opinion="仍不满意 Still unhappy", dissatisfaction_reason="赔偿不足 Compensation")
    data.update(changes)
    return data
