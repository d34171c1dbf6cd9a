"""T2 (issue 11 item 5, issue 15): a process killed between the intake's commit and the reminder's
delivery loses nothing and delivers nothing twice: the restart delivers the reminder once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tasks import repeats
from tests.procedure.support import complaint_row, open_task
from tests.procedure.test_repeats import running_complaint

ROOT = Path(__file__).resolve().parents[2]
CHILD = "tests.procedure.outbox_crash_child"


def child(database_url: str, clock, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", CHILD, database_url, clock.now().isoformat(), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def reminders(engine, instance_id: int) -> list:
    return [row for row in engine.open_tasks(instance_id) if row.element_id == "task_handle_reminder"]


def test_t2_reminder_survives_a_kill_after_the_intake_commit_and_arrives_once(engine, clock, database_url):
    running, number = running_complaint(engine)

    killed = child(database_url, clock, "record", number)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    call = int(killed.stdout.split()[0])
    # The intake committed whole: merged, its reminder written beside it, nothing delivered yet.
    assert engine.instance(call).status == "completed"
    assert engine.instance_data(call)["closure"]["merged_into"] == number
    assert repeats.reminder_state(engine, call) == "pending"
    assert reminders(engine, running) == [] and complaint_row(engine, running).reminders == 0

    restarted = child(database_url, clock, "restart")
    assert (restarted.returncode, restarted.stdout.split()) == (0, ["1"]), restarted.stderr
    again = child(database_url, clock, "restart")
    assert (again.returncode, again.stdout.split()) == (0, ["0"]), again.stderr
    assert engine.outbox.deliver_pending() == 0

    [reminder] = reminders(engine, running)
    assert reminder.candidate_group == open_task(engine, running, "task_handle_order").candidate_group
    assert complaint_row(engine, running).reminders == 1
    assert repeats.reminder_state(engine, call) == "delivered"
    [row] = engine.outbox.rows_of(call)
    assert (row.kind, row.attempts, row.delivered_at) == ("t2_reminder", 0, clock.now())
