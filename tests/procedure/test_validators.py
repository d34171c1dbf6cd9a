"""The user-task validators of tasks/validators.py on their own, against the real config.

Each message starts with the rule id it enforces (C1-C5, A2, A5, L4, W1-W5, E5, R1/R4/R6, V1/V2).
"""

from __future__ import annotations

import pytest

from tasks import validators
from tests.procedure import support
from tests.procedure.support import validator_input


def errors_of(validator, submitted):
    return validator(validator_input(submitted)) or {}


# ----------------------------------------------------------------------------- intake record


def test_c1_c5_a2_a5_valid_phone_record_passes():
    assert errors_of(validators.complaint_record, support.record()) == {}


@pytest.mark.parametrize(
    ("channel", "field", "value"),
    [
        ("letter", "document_archive_ref", "LX-2026-0042"),
        ("fax", "document_archive_ref", "FX-2026-0007"),
        ("visit", "customer_confirmed", True),
        ("email", "details_verified", True),
        ("internet", "details_verified", True),
    ],
)
def test_a5_channel_specific_record_requirements(channel, field, value):
    missing = errors_of(validators.complaint_record, support.record(channel=channel))
    assert list(missing) == [field]
    assert missing[field].startswith("A5:")
    given = errors_of(validators.complaint_record, support.record(channel=channel, **{field: value}))
    assert given == {}


def test_a5_a_false_confirmation_does_not_count():
    errors = errors_of(validators.complaint_record, support.record(channel="visit", customer_confirmed=False))
    assert errors["customer_confirmed"].startswith("A5:")


def test_a2_first_contact_resolution_needs_how_and_the_customers_acceptance():
    errors = errors_of(validators.complaint_record, support.record(first_contact_resolved=True))
    assert errors["first_contact_resolution"].startswith("A2:")
    assert errors["customer_accepted"].startswith("A2:")
    resolved = support.record(
        first_contact_resolved=True,
        first_contact_resolution="解释了资费 Explained the tariff",
        customer_accepted=True,
    )
    assert errors_of(validators.complaint_record, resolved) == {}


def test_c5_ordinary_cannot_be_combined_with_an_urgent_flag():
    errors = errors_of(validators.complaint_record, support.record(complaint_types=["ordinary", "major"]))
    assert errors["complaint_types"].startswith("C5:")


def test_c5_unknown_type_is_refused():
    errors = errors_of(validators.complaint_record, support.record(complaint_types=["vip"]))
    assert errors["complaint_types"].startswith("C5:")


def test_c1_c5_escalation_channel_requires_the_escalated_flag():
    errors = errors_of(validators.complaint_record, support.record(channel="miit"))
    assert errors["complaint_types"].startswith("C1/C5:")
    escalated = support.record(
        channel="miit", complaint_types=["escalated", "repeat"], outside_deadline="2026-11-29T17:00+08:00"
    )
    assert errors_of(validators.complaint_record, escalated) == {}


def test_c1_c2_c3_codes_come_from_the_config():
    errors = errors_of(
        validators.complaint_record,
        support.record(channel="pigeon", business_category="iptv", nature_category="rudeness"),
    )
    assert errors["channel"].startswith("C1:")
    assert errors["business_category"].startswith("C2:")
    assert errors["nature_category"].startswith("C3:")


# ----------------------------------------------------------------------------- dispatch


def test_l4_dispatch_to_a_configured_department_with_a_group():
    assert errors_of(validators.dispatch_order, support.dispatch()) == {}
    assert errors_of(validators.dispatch_order, support.dispatch(department="billing")) == {}
    errors = errors_of(validators.dispatch_order, support.dispatch(department="facilities"))
    assert errors["department"].startswith("L4: unknown department 'facilities'")


# ----------------------------------------------------------------------------- W1-W5


def test_w1_w5_complete_reply_passes():
    assert errors_of(validators.work_order_reply, support.work_order_reply()) == {}


def test_w4_concentrated_problem_needs_measures_restoration_time_and_coordinator():
    errors = errors_of(validators.work_order_reply, support.work_order_reply(concentrated=True))
    assert set(errors) == {"measures", "restoration_time", "coordinating_department"}
    assert all(message.startswith("W4:") for message in errors.values())


def test_w4_measures_not_required_when_not_concentrated():
    assert "measures" not in errors_of(validators.work_order_reply, support.work_order_reply())


def test_w4_restoration_time_must_be_a_date_time():
    reply = support.work_order_reply(
        concentrated=True,
        measures="更换光缆 Replace the cable",
        restoration_time="soon",
        coordinating_department="网络部 Network",
    )
    errors = errors_of(validators.work_order_reply, reply)
    assert list(errors) == ["restoration_time"]
    reply["restoration_time"] = "2026-11-28T18:00+08:00"
    assert errors_of(validators.work_order_reply, reply) == {}


@pytest.mark.parametrize(("field", "rule"), [("cause", "W1"), ("handling_process", "W2"), ("result", "W3")])
def test_w1_w3_blank_text_is_refused(field, rule):
    errors = errors_of(validators.work_order_reply, support.work_order_reply(**{field: "   "}))
    assert errors[field].startswith(f"{rule}:")


# ----------------------------------------------------------------------------- E5, R4, V1


def test_e5_a_return_needs_its_reason():
    assert errors_of(validators.reply_review, {"reply_qualified": False})["return_reason"].startswith("E5:")
    assert errors_of(validators.reply_review, support.review(qualified=False)) == {}
    assert errors_of(validators.reply_review, {"reply_qualified": True}) == {}


def test_r6_an_unreached_customer_needs_a_note_of_the_attempt():
    errors = errors_of(validators.customer_reply, support.customer_reply(customer_reached=False))
    assert errors["attempt_note"].startswith("R6:")
    unreached = support.customer_reply(customer_reached=False, attempt_note="关机 Phone off")
    assert errors_of(validators.customer_reply, unreached) == {}
    assert errors_of(validators.customer_reply, support.customer_reply()) == {}


def test_v1_dissatisfaction_needs_its_reason():
    errors = errors_of(validators.return_visit, {"satisfied": False, "customer_opinion": "不满意"})
    assert errors["dissatisfaction_reason"].startswith("V1/H3:")
    assert errors_of(validators.return_visit, support.return_visit(satisfied=False)) == {}
