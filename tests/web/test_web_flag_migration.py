"""Alembic revision t0011_visit11 (issue 11 items 8, 9): the old "升级/越级" flag keeps its meaning.

A transfer on an escalation channel stays ``escalated`` (升级); an ``escalated`` flag on any
other channel was a customer who went over the company's head and becomes ``over_head`` (越级),
on the record, its clocks and the report rollups; the record gains ``batch_handler`` (T4).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from engine import schema
from engine.db import make_db_engine
from tasks import clocks, reports
from web.system import MIGRATION_FOLDERS

ACCEPTED = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 Shanghai, day 2026-11-20


def _complaint(connection, instance_id: int, channel: str, flags: str) -> None:
    connection.execute(
        text(
            "INSERT INTO complaints (instance_id, number, channel, type_flags, priority, stage, status,"
            " accepted_at, deadlines, reminders, updated_at) VALUES (:id, :number, :channel, :flags,"
            " 'urgent', 'closed', 'closed', :at, '{}', 0, :at)"
        ),
        {
            "id": instance_id,
            "number": f"TS-20261120-{instance_id:04d}",
            "channel": channel,
            "flags": flags,
            "at": ACCEPTED,
        },
    )
    connection.execute(
        text(
            "INSERT INTO complaint_clocks (instance_id, clock, round, status, started_at, due_at,"
            " first_due_at,"
            " extensions, late_by_s, period, department, channel, business_category, nature_category,"
            " type_flags) VALUES (:id, 'L2', 1, 'missed', :at, :at, :at, 0, 60.0, '2026-11-20', 'network',"
            " :channel, 'other', 'other', :flags)"
        ),
        {"id": instance_id, "channel": channel, "flags": flags, "at": ACCEPTED},
    )
    for value in flags.split(","):
        connection.execute(
            text(
                "INSERT INTO complaint_volumes (period, dimension, value, complaints)"
                " VALUES ('2026-11-20', 'type_flag', :v, 1)"
                " ON CONFLICT (period, dimension, value) DO UPDATE SET complaints = complaints + 1"
            ),
            {"v": value},
        )
        connection.execute(
            text(
                "INSERT INTO clock_rollups (period, clock, dimension, value, measured, met, late_s, extended)"
                " VALUES ('2026-11-20', 'L2', 'type_flag', :v, 1, 0, 60.0, 0)"
                " ON CONFLICT (period, clock, dimension, value) DO UPDATE SET measured = measured + 1,"
                " late_s = late_s + 60.0"
            ),
            {"v": value},
        )


def test_c5_t4_the_old_flag_maps_by_channel_and_the_rollups_follow(tmp_path):
    engine = make_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    schema.upgrade(engine, MIGRATION_FOLDERS, revision="t0010_seams")
    with engine.begin() as connection:
        _complaint(connection, 1, "miit", "escalated")  # a transfer: 升级
        _complaint(connection, 2, "phone", "escalated,major")  # went over the head: 越级
    schema.upgrade(engine, MIGRATION_FOLDERS)
    with engine.begin() as connection:
        flags = dict(connection.execute(text("SELECT instance_id, type_flags FROM complaints")).all())
        assert flags == {1: "escalated", 2: "over_head,major"}
        clock_flags = dict(
            connection.execute(text("SELECT instance_id, type_flags FROM complaint_clocks")).all()
        )
        assert clock_flags == {1: "escalated", 2: "over_head,major"}
        assert "batch_handler" in {column["name"] for column in inspect(connection).get_columns("complaints")}
        period = reports.Period(ACCEPTED.date(), ACCEPTED.date())
        volumes = reports.volumes(connection, period, {"complaint_types": {"escalated": "", "over_head": ""}})
        assert (volumes.escalated_total, volumes.over_head_total) == (1, 1)
        by_flag = {
            row.value: (row.measured, row.late_s) for row in reports.on_time(connection, period, "type_flag")
        }
        assert (by_flag["escalated"], by_flag["over_head"]) == ((1, 60.0), (1, 60.0))
        incremental = sorted(
            connection.execute(
                text(
                    "SELECT period, clock, dimension, value, SUM(measured) FROM ("
                    " SELECT period, clock, dimension, value, measured FROM clock_rollups UNION ALL"
                    " SELECT period, clock, dimension, value, measured FROM clock_rollup_deltas)"
                    " WHERE dimension = 'type_flag' GROUP BY period, clock, dimension, value"
                    " HAVING SUM(measured) != 0"
                )
            ).all()
        )
        clocks.rebuild_rollups(connection)
        rebuilt = sorted(
            connection.execute(
                text(
                    "SELECT period, clock, dimension, value, measured FROM clock_rollups"
                    " WHERE dimension = 'type_flag'"
                )
            ).all()
        )
        assert incremental == rebuilt
    engine.dispose()
