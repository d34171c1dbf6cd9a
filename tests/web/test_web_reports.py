"""The reports page and its exports (L7, C4, E3): every figure checked against numbers worked out by hand.

Volume comes from plain complaint rows run through the real clock projection
(``tasks.clocks.project_clocks``); the clocks at risk from complaints driven through the real
procedure in simulated time (Friday 2026-11-27, Shanghai).

The four plain complaints, accepted 20-26 November (all closed):

| | day | channel | business | nature | types | dept | L2 | L4 | T7 |
|---|---|---|---|---|---|---|---|---|---|
| C1 | 20th | phone | internet_broadband | installation_relocation | ordinary | network | met | met | |
| C2 | 21st | miit | fixed_phone | staff_service | escalated | network | 10 min late | met, E3 | 60 late |
| C3 | 22nd | media | internet_broadband | other | major, repeat | billing | met | 120 min late | |
| C4 | 26th | central_media | other | staff_service | batch | network | met | 30 min late, E3 | |
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from engine.running_clocks import CANCELLED, FIRED, ClockReading
from tasks import clocks, records, reports, warning_share
from tests.procedure import support as procedure
from tests.procedure.support import SHANGHAI, at
from tests.web.support import client_of
from web import accounts

PAST_WEEK = "from=2026-11-20&to=2026-11-26"
H = timedelta(hours=1)


def timer(clock, due, armed, late_minutes=0):
    """What a clock's timer reads once its guarded task is done: 5 min early, or late."""
    done = due + timedelta(minutes=late_minutes) if late_minutes else due - timedelta(minutes=5)
    state = FIRED if late_minutes else CANCELLED
    return ClockReading(clock, f"timer_{clock}", "task", None, "boundary", state, due, armed, stopped_at=done)


def plain_complaint(
    engine, instance_id, day, *, channel, business, nature, flags, department, late, extended=False
):
    """A closed complaint row plus its clocks, projected by the real projection function from
    the readings its timers would give (an E3 extension: the timer re-armed on a later due)."""
    accepted = at(day, 9)
    readings = [timer("L2", accepted + timedelta(hours=2), accepted, late.get("L2", 0))]
    l4_due = accepted + timedelta(hours=50)
    if extended:  # asked an hour in, before the first due: that reading stopped, then re-armed
        first = l4_due - timedelta(hours=24)
        readings.append(
            ClockReading("L4", "timer_L4", "task", None, "boundary", CANCELLED, first, accepted, accepted + H)
        )
    readings.append(timer("L4", l4_due, accepted + 2 * H if extended else accepted, late.get("L4", 0)))
    if "T7" in late:
        readings.append(timer("T7", accepted + timedelta(hours=72), accepted, late["T7"]))
    data = {
        "complaint_no": f"TS-202611{day:02d}-{instance_id:04d}",
        "accepted_at": accepted.isoformat(),
        "department": department,
    }
    values = {
        "number": data["complaint_no"],
        "channel": channel,
        "business_category": business,
        "nature_category": nature,
        "type_flags": ",".join(flags),
        "priority": "ordinary",
        "stage": "closed",
        "status": "closed",
        "accepted_at": accepted,
        "closed_at": accepted + timedelta(days=3),
        "deadlines": "{}",
        "updated_at": accepted,
    }
    with engine.writer() as session, session.begin():
        connection = session.connection()
        connection.execute(
            records.Complaint.__table__.insert().values(instance_id=instance_id, reminders=0, **values)
        )
        clocks.project_clocks(
            connection,
            instance_id=instance_id,
            data=data,
            summary={},
            values=values,
            previous=None,
            now=accepted,
            zone=SHANGHAI,
            readings=readings,
        )


@pytest.fixture
def reports_app(procedure_app, clock):
    engine = procedure_app.extensions["process_engine"]
    plain_complaint(
        engine,
        9001,
        20,
        channel="phone",
        business="internet_broadband",
        nature="installation_relocation",
        flags=["ordinary"],
        department="network",
        late={},
    )
    plain_complaint(
        engine,
        9002,
        21,
        channel="miit",
        business="fixed_phone",
        nature="staff_service",
        flags=["escalated"],
        department="network",
        late={"L2": 10, "T7": 60},
        extended=True,
    )
    plain_complaint(
        engine,
        9003,
        22,
        channel="media",
        business="internet_broadband",
        nature="other",
        flags=["major", "repeat"],
        department="billing",
        late={"L4": 120},
    )
    plain_complaint(
        engine,
        9004,
        26,
        channel="central_media",
        business="other",
        nature="staff_service",
        flags=["batch"],
        department="network",
        late={"L4": 30},
        extended=True,
    )
    return procedure_app


def csv_rows(client, name, query=PAST_WEEK):
    response = client.get(f"/reports/{name}.csv?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


def test_l7_e3_on_time_rate_per_clock_by_hand(reports_app):
    """L7, E3: L2 3 of 4 on time (10 min late once); L4 2 of 4 (late 120 and 30 min: mean 75),
    2 extended; T7 0 of 1 (60 min late)."""
    sue = client_of(reports_app, "sue")
    rows = csv_rows(sue, "on_time")
    assert rows[0][:4] == ["Clock", "Measured", "Met", "Missed"]
    assert rows[1:] == [
        ["L2 Review and dispatch", "4", "3", "1", "75.0", "10.0", "0"],
        ["L4 Department handling", "4", "2", "2", "50.0", "75.0", "2"],
        ["T7 Report back to the outside unit (E4)", "1", "0", "1", "0.0", "60.0", "0"],
    ]


def test_l7_on_time_rate_by_department_type_and_month(reports_app):
    sue = client_of(reports_app, "sue")
    by_department = csv_rows(sue, "breakdown", PAST_WEEK + "&by=department")
    assert by_department[1:] == [
        ["L2 Review and dispatch", "计费部 Billing department", "1", "1", "0", "100.0", "", "0"],
        ["L2 Review and dispatch", "网络部 Network department", "3", "2", "1", "66.7", "10.0", "0"],
        ["L4 Department handling", "计费部 Billing department", "1", "0", "1", "0.0", "120.0", "0"],
        ["L4 Department handling", "网络部 Network department", "3", "2", "1", "66.7", "30.0", "2"],
        [
            "T7 Report back to the outside unit (E4)",
            "网络部 Network department",
            "1",
            "0",
            "1",
            "0.0",
            "60.0",
            "0",
        ],
    ]
    by_type = {
        (row[0][:2], row[1]): row[2:5] for row in csv_rows(sue, "breakdown", PAST_WEEK + "&by=type_flag")[1:]
    }
    assert by_type[("L2", "升级 Transferred from an outside unit")] == ["1", "0", "1"]
    assert by_type[("L4", "重大 Major")] == ["1", "0", "1"] and by_type[("L4", "重复 Repeat")] == [
        "1",
        "0",
        "1",
    ]
    assert by_type[("L4", "批量 Batch")] == ["1", "0", "1"] and by_type[("L4", "普通 Ordinary")] == [
        "1",
        "1",
        "0",
    ]
    assert len(by_type) == 11  # L2 x 5 flags, L4 x 5 flags, T7 x escalated
    by_month = csv_rows(sue, "by_month")
    assert [row[:3] for row in by_month[1:]] == [
        ["L2 Review and dispatch", "2026-11", "4"],
        ["L4 Department handling", "2026-11", "4"],
        ["T7 Report back to the outside unit (E4)", "2026-11", "1"],
    ]
    by_channel = csv_rows(sue, "breakdown", "from=2026-11-21&to=2026-11-22&by=channel")
    assert [row[:4] for row in by_channel[1:3]] == [
        ["L2 Review and dispatch", "媒体 Media", "1", "1"],
        ["L2 Review and dispatch", "工信部申诉受理中心 MIIT user-appeal centre", "1", "0"],
    ]


def test_c4_annex1_volumes_are_equal_by_business_and_by_nature(reports_app):
    """C4: 4 complaints = 2 + 1 + 0 + 1 by business = 1 + 2 + 1 by nature; escalation channels 3
    (MIIT, media, central media), media subtotal 2 (media and central-level media)."""
    sue = client_of(reports_app, "sue")
    assert csv_rows(sue, "business")[1:] == [
        ["互联网宽带 Internet / broadband", "2"],
        ["固定电话 Fixed telephone", "1"],
        ["卡类及主叫注册 Calling cards & caller registration", "0"],
        ["其他 Other", "1"],
        ["Total", "4"],
    ]
    assert csv_rows(sue, "nature")[1:] == [
        ["装机移机 Installation / relocation", "1"],
        ["人员服务 Staff service", "2"],
        ["其他 Other", "1"],
        ["Total", "4"],
    ]
    channels = dict(csv_rows(sue, "channels")[1:])
    assert channels["来电 Phone"] == "1" and channels["中央级媒体 Central-level media"] == "1"
    assert (channels["Escalation channels, subtotal"], channels["Media, subtotal"], channels["Total"]) == (
        "3",
        "2",
        "4",
    )
    page = sue.get(f"/reports?{PAST_WEEK}").get_data(as_text=True)
    assert "C4: 4 complaints = sum over business categories = sum over nature categories." in page
    narrower = dict(csv_rows(sue, "business", "from=2026-11-21&to=2026-11-22")[1:])
    assert narrower["Total"] == "2" and narrower["互联网宽带 Internet / broadband"] == "1"


def test_l7_open_clocks_overdue_or_about_to_breach(reports_app, clock):
    """L2 (2 h, ordinary): B recorded 09:00 is overdue at 11:40 (133 % of its time used);
    A recorded 10:00 has used 100 of 120 minutes (83 %): about to breach at 0.75, not at 0.9."""
    engine = reports_app.extensions["process_engine"]
    b = engine.start(actor="ivy").instance_id
    procedure.complete(engine, b, "task_record_complaint", procedure.record())
    clock.set(at(27, 10))
    a = engine.start(actor="ivy").instance_id
    procedure.complete(engine, a, "task_record_complaint", procedure.record(customer_phone="13900139000"))
    clock.set(at(27, 11, 40))
    number_a = procedure.complaint_row(engine, a).number
    number_b = procedure.complaint_row(engine, b).number
    sue = client_of(reports_app, "sue")
    rows = csv_rows(sue, "at_risk")
    assert rows[1:] == [
        [
            number_b,
            "L2 Review and dispatch",
            "1",
            "(none)",
            "2026-11-27T09:00+08:00",
            "2026-11-27T11:00+08:00",
            "133",
            "overdue",
        ],
        [
            number_a,
            "L2 Review and dispatch",
            "1",
            "(none)",
            "2026-11-27T10:00+08:00",
            "2026-11-27T12:00+08:00",
            "83",
            "about to breach",
        ],
    ]
    assert [row[0] for row in csv_rows(sue, "at_risk", "fraction=0.9")[1:]] == [number_b]
    # without a fraction the list uses each clock's [warnings] share, as the warnings sent do
    config = {"warnings": {"default": 0.5, "L2": 0.9}}
    with engine.reader() as session:
        listed = reports.at_risk(
            session.connection(), clock.now(), lambda name: warning_share.fraction(config, name)
        )
    assert [row.number for row in listed] == [number_b]


def test_xlsx_export_has_the_same_figures(reports_app):
    sue = client_of(reports_app, "sue")
    response = sue.get(f"/reports/on_time.xlsx?{PAST_WEEK}")
    assert response.status_code == 200
    assert 'filename="on_time-2026-11-20-2026-11-26.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Clock"
    assert rows[2] == ["L4 Department handling", 4, 2, 2, 50.0, 75.0, 2]


def test_reports_are_for_supervisors_and_admins_only(reports_app):
    """Agents get 403 on the page and the exports; the nav shows the link to supervisors."""
    for username in ("ivy", "dora", "ned"):
        agent = client_of(reports_app, username)
        assert agent.get("/reports").status_code == 403
        assert agent.get("/reports/on_time.csv").status_code == 403
        assert 'href="/reports"' not in agent.get("/inbox").get_data(as_text=True)
    with reports_app.extensions["process_engine"].writer() as session, session.begin():
        accounts.create_user(session, "ada", "password-1", "Ada", [], ["admin"])
        accounts.create_user(session, "olga", "password-1", "Olga", [], ["process_owner"])
    assert client_of(reports_app, "ada").get("/reports/on_time.xlsx").status_code == 200
    assert client_of(reports_app, "olga").get("/reports").status_code == 403
    sue = client_of(reports_app, "sue")
    assert 'href="/reports"' in sue.get("/inbox").get_data(as_text=True)
    assert sue.get("/reports").status_code == 200
    # The heat map draws the default version's diagrams, the map of the procedure first.
    page = sue.get("/reports").get_data(as_text=True)
    url = re.search(r"&#34;diagramsUrl&#34;: &#34;([^&]+)&#34;", page).group(1)
    assert json.loads(sue.get(url).data)["diagrams"][0]["calls"]["call_review_dispatch"] == "review_dispatch"
    assert reports_app.test_client().get("/reports").status_code in (302, 401)
    sue.get("/language/zh")
    chinese = sue.get(f"/reports?{PAST_WEEK}").get_data(as_text=True)
    assert "各时限的及时率（L7）" in chinese and "L4 部门工单处理" in chinese


def test_bad_query_names_the_field(reports_app):
    sue = client_of(reports_app, "sue")
    response = sue.get("/reports?from=27/11/2026")
    assert response.status_code == 400
    assert "from: not a date, write YYYY-MM-DD" in response.get_data(as_text=True)
    assert "by: unknown breakdown" in sue.get("/reports?by=colour").get_data(as_text=True)
    assert sue.get("/reports/on_time.csv?from=2026-11-27&to=2026-11-01").status_code == 400
    assert sue.get("/reports/nothing.csv").status_code == 404
