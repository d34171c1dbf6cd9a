"""C5, Annex 1 (issue 11 item 8): 越级 (went over the company's head) and 升级 (transferred from an
outside unit) are two flags, both urgent, counted in subtotals of their own."""

from __future__ import annotations

import pytest

from tests.web.test_web_reports import PAST_WEEK, client_of, csv_rows, plain_complaint


@pytest.fixture
def flags_app(procedure_app, clock):
    engine = procedure_app.extensions["process_engine"]
    common = {"business": "internet_broadband", "nature": "other", "department": "network", "late": {}}
    plain_complaint(engine, 9101, 21, channel="miit", flags=["escalated", "over_head"], **common)
    plain_complaint(engine, 9102, 22, channel="phone", flags=["over_head"], **common)
    plain_complaint(engine, 9103, 22, channel="consumer_association", flags=["escalated"], **common)
    plain_complaint(engine, 9104, 23, channel="phone", flags=["ordinary"], **common)
    return procedure_app


def test_c5_over_head_and_escalated_are_counted_in_subtotals_of_their_own(flags_app):
    """C5: 越级 2 (the MIIT transfer of a customer who went to MIIT, and a phone call from one who
    went to the regulator), 升级 2 (the two transfers); the escalation channels 2; total 4."""
    sue = client_of(flags_app, "sue")
    channels = dict(csv_rows(sue, "channels")[1:])
    assert (
        channels["Went over the company's head (C5), subtotal"],
        channels["Transferred from an outside unit (C5), subtotal"],
        channels["Escalation channels, subtotal"],
        channels["Total"],
    ) == ("2", "2", "2", "4")
    page = sue.get(f"/reports?{PAST_WEEK}").get_data(as_text=True)
    assert "Went over the company&#39;s head (C5), subtotal" in page
