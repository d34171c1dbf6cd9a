"""Forms drawn from their JSON Schema's conditionals (issue 13): what does not apply is hidden
and not kept, date-times are picked in the display zone, errors are summarised at the top.

The schema files are the real ones of bpmn/forms; the page tests run the real procedure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.procedure import support
from tests.web.support import client_of, csrf_token
from tests.web.test_web_procedure import running_complaint
from web.form_conditions import applicable_values, conditions_of, hidden_fields

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"
HANDLE_ORDER = json.loads((FORMS / "handle_order.json").read_text(encoding="utf-8"))
CHECKBOXES = {name for name, spec in HANDLE_ORDER["properties"].items() if spec.get("type") == "boolean"}


def shown(values=None, context=None) -> list[str]:
    sent = {name: False for name in CHECKBOXES} | (values or {})
    return [
        name for name in HANDLE_ORDER["properties"] if name not in hidden_fields(HANDLE_ORDER, sent, context)
    ]


def test_w_the_work_order_shows_the_reply_fields_of_an_ordinary_complaint_only():
    """W1-W5 and the switches; not the 24 fields of other cases (of 34: E2's ordered account, issue 11)."""
    assert len(HANDLE_ORDER["properties"]) == 34
    assert shown() == [
        *("cause", "handling_process", "handling_final", "result", "service_restored", "concentrated"),
        *("customer_attitude", "request_extension", "tariff_dispute", "dispute_likely"),
    ]


def test_e3_an_extension_request_shows_its_own_fields_instead_of_the_reply():
    assert shown({"request_extension": True}) == [
        "request_extension",
        "extension_progress",
        "extension_reason",
        "extension_until",
    ]


def test_w4_h2_h5_h4_each_switch_opens_its_fields_and_a_chain_closes_from_its_first_link():
    assert {"measures", "restoration_time", "coordinating_department"} <= set(shown({"concentrated": True}))
    assert "evidence_refs" in shown({"dispute_likely": True})
    chain = {
        "tariff_dispute": True,
        "overcharged": True,
        "compensation_form": "cash",
        "cash_reason": "urgent",
    }
    assert {"tariff_verified", "overcharged", "compensation_form", "cash_reason"} <= set(shown(chain))
    unticked = {**chain, "tariff_dispute": False}
    assert not {"overcharged", "compensation_form", "cash_reason"} & set(shown(unticked))
    assert applicable_values(HANDLE_ORDER, unticked) == {"tariff_dispute": False}


def test_e1_e2_h7_r1_fields_follow_the_complaint_not_the_form():
    """The escalated structure (E1-E2), the MIIT form (H7), the R1 justification: by the complaint's data."""
    escalated = shown(context={"complaint_types": ["escalated"], "channel": "miit", "repeat_of": "TS-1"})
    assert {"company_responsible", "handling_summary", "earlier_authority_complaint"} <= set(escalated)
    e2_account = ["first_complaint_at", "first_findings", "first_acceptance"]
    e2_account += ["transfer_findings", "final_opinion"]
    assert [name for name in escalated if name in e2_account] == e2_account  # the original's order
    assert "authority_intake_proof" not in escalated
    assert "authority_intake_proof" in shown(
        {"earlier_authority_complaint": True}, context={"complaint_types": ["escalated"]}
    )
    assert {"miit_feedback_form", "consistency_justification"} <= set(escalated)
    assert "responsible_department" not in escalated
    assert "responsible_department" in shown(
        {"company_responsible": True}, context={"complaint_types": ["escalated"]}
    )
    ordinary = shown(context={"complaint_types": ["ordinary"], "channel": "phone"})
    assert not {"company_responsible", "miit_feedback_form", "consistency_justification"} & set(ordinary)


@pytest.mark.parametrize("form", sorted(FORMS.glob("*.json")), ids=lambda path: path.name)
def test_every_forms_conditionals_name_only_its_own_fields(form):
    schema = json.loads(form.read_text(encoding="utf-8"))
    assert set(conditions_of(schema)) <= set(schema.get("properties") or {})


# ----------------------------------------------------------------------------- the page


@pytest.fixture
def app(procedure_app):
    return procedure_app


def _order_page(app):
    engine = app.extensions["process_engine"]
    running, _ = running_complaint(engine)
    order = support.open_task(engine, running, "task_handle_order")
    ned = client_of(app, "ned")
    return engine, running, order, ned, csrf_token(ned, f"/tasks/{order.id}")


def _as_form(values: dict) -> dict:
    return {key: ("on" if value is True else value) for key, value in values.items() if value is not False}


def test_the_page_hides_what_does_not_apply_and_the_server_drops_it_when_sent(app):
    engine, running, order, ned, token = _order_page(app)
    page = ned.get(f"/tasks/{order.id}").get_data(as_text=True)
    assert re.search(r'data-field="measures"[^>]*\bhidden\b', page)
    assert re.search(r'name="measures"[^>]*\bdisabled\b', page)
    assert not re.search(r'data-field="cause"[^>]*\bhidden\b', page)
    form = _as_form(support.work_order_reply()) | {
        "measures": "typed before unticking",  # a stale value of a field that no longer applies
        "extension_progress": "not an extension",
        "csrf_token": token,
        "action": "complete",
    }
    assert ned.post(f"/tasks/{order.id}", data=form).status_code == 302
    data = engine.instance_data(running)
    assert data["cause"] == support.work_order_reply()["cause"]
    assert "measures" not in data and "extension_progress" not in data


def test_e3_a_date_time_is_picked_without_offset_and_the_server_adds_the_display_zone(app):
    engine, running, order, ned, token = _order_page(app)
    page = ned.get(f"/tasks/{order.id}").get_data(as_text=True)
    assert re.search(r'name="extension_until"[^>]*type="datetime-local"', page)
    form = _as_form(support.extension_request("2026-12-06 18:00")) | {
        "csrf_token": token,
        "action": "complete",
    }
    answer = ned.post(f"/tasks/{order.id}", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert engine.instance_data(running)["extension_until"] == "2026-12-06T18:00:00+08:00"


def test_a_refused_form_lists_and_links_each_field_in_error_and_focuses_the_first(app):
    _, _, order, ned, token = _order_page(app)
    refused = ned.post(f"/tasks/{order.id}", data={"csrf_token": token, "action": "complete"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    summary = page[
        page.index('class="error-summary"') : page.index("</ul>", page.index('class="error-summary"'))
    ]
    linked = re.findall(r'href="#f-(\w+)"', summary)
    assert linked[:2] == ["cause", "handling_process"] and "customer_attitude" in linked
    assert all(f'id="f-{name}"' in page for name in linked)
    assert re.search(r'id="f-cause"[^>]*\bautofocus\b', page)
    assert len(re.findall(r"\bautofocus\b", page)) == 1


def test_dependent_required_and_dependent_schemas_open_fields_once_their_key_is_given():
    schema = {
        "type": "object",
        "required": ["name"],
        "properties": {name: {"type": "string"} for name in ("name", "ref", "ref_date", "note", "detail")},
        "dependentRequired": {"ref": ["ref_date", "name"]},  # name is required anyway: always shown
        "dependentSchemas": {"note": {"properties": {"detail": {"maxLength": 9}}}},
    }
    assert hidden_fields(schema, {"name": "x"}) == {"ref_date", "detail"}
    assert hidden_fields(schema, {"name": "x", "ref": "R-1", "note": "n"}) == set()
    assert applicable_values(schema, {"name": "x", "ref_date": "2026-12-01", "detail": "d"}) == {"name": "x"}
