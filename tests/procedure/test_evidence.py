"""H4: evidence is required where a later dispute is likely: of the handling on the work-order
reply, and of the customer's agreement at the return visit.

Clock: Friday 2026-11-27 09:00 Shanghai.
"""

from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from tests.procedure import support
from tests.procedure.support import complaint_row, complete, open_elements, open_task

HANDLING_FILE = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
RECORDING = "录音 REC-2026-1127-0042"


def test_h4_a_likely_dispute_needs_evidence_of_the_handling_and_of_the_customers_agreement(engine, clock):
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_handle_order", support.work_order_reply(dispute_likely=True))
    assert set(refused.value.field_errors) == {"evidence_refs"}
    assert refused.value.field_errors["evidence_refs"].startswith("H4: ")
    with pytest.raises(InvalidInput):  # blank references are no evidence
        complete(
            engine,
            instance_id,
            "task_handle_order",
            support.work_order_reply(dispute_likely=True, evidence_refs=["  "]),
        )
    assert "task_handle_order" in open_elements(engine, instance_id), "a refused reply saves nothing"
    complete(
        engine,
        instance_id,
        "task_handle_order",
        support.work_order_reply(dispute_likely=True, evidence_refs=[HANDLING_FILE]),
    )
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())

    with pytest.raises(InvalidInput) as refused:
        complete(engine, instance_id, "task_return_visit", support.return_visit())
    assert set(refused.value.field_errors) == {"agreement_evidence"}
    assert open_task(engine, instance_id, "task_return_visit").status == "open"
    complete(engine, instance_id, "task_return_visit", support.return_visit(agreement_evidence=[RECORDING]))
    data = engine.instance_data(instance_id)
    assert (data["evidence_refs"], data["agreement_evidence"]) == ([HANDLING_FILE], [RECORDING])
    assert complaint_row(engine, instance_id).status == "closed"


def test_h4_without_a_likely_dispute_evidence_stays_optional(engine, clock):
    """H4 asks for evidence only where a dispute is likely; a dissatisfied customer gave no agreement."""
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    complete(engine, instance_id, "task_handle_order", support.work_order_reply(dispute_likely=False))
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit())
    assert complaint_row(engine, instance_id).status == "closed"


def test_h4_a_dissatisfied_customer_needs_no_agreement_evidence(engine, clock):
    instance_id = engine.start(actor="agent").instance_id
    complete(engine, instance_id, "task_record_complaint", support.record())
    complete(engine, instance_id, "task_review_dispatch", support.dispatch())
    complete(
        engine,
        instance_id,
        "task_handle_order",
        support.work_order_reply(dispute_likely=True, evidence_refs=[HANDLING_FILE]),
    )
    complete(engine, instance_id, "task_review_reply", support.review())
    complete(engine, instance_id, "task_reply_customer", support.customer_reply())
    complete(engine, instance_id, "task_return_visit", support.return_visit(satisfied=False))
    assert "task_analyse_dissatisfaction" in open_elements(engine, instance_id)
