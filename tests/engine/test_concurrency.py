"""Two people completing the same task at once: one wins, the other gets a clear conflict."""

from __future__ import annotations

import threading

from sqlalchemy import select

from engine.errors import Conflict
from engine.models import AuditEvent
from tests.engine.support import engine_test_handlers, valid_bundle


def test_concurrent_second_completion_is_a_conflict_and_changes_nothing(make_engine, db):
    handlers = engine_test_handlers()
    # On PostgreSQL both commands load the instance before either writes: the stale
    # write is caught by the version column. SQLite queues writers at BEGIN, so there
    # the second command sees the task already completed.
    both_loaded = threading.Barrier(2, timeout=10)
    overlap = db.dialect.name == "postgresql"
    plain_check = handlers.validators["check_amount"]

    def check_amount_together(task_input):
        if overlap:
            both_loaded.wait()
        return plain_check(task_input)

    handlers.validators["check_amount"] = check_amount_together
    nodes = [make_engine(handlers, node=f"node-{n}") for n in (1, 2)]
    nodes[0].deploy(valid_bundle(), actor="admin")
    instance_id = nodes[0].start(actor="alice").instance_id
    [task] = nodes[0].open_tasks(instance_id)
    outcomes: dict[str, object] = {}

    def complete(node, who, amount):
        try:
            node.complete_task(task.id, actor=who, data={"amount": amount, "description": who})
            outcomes[who] = "completed"
        except Conflict as conflict:
            outcomes[who] = conflict

    threads = [
        threading.Thread(target=complete, args=(nodes[0], "bob", 50)),
        threading.Thread(target=complete, args=(nodes[1], "carol", 60)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [who for who, outcome in outcomes.items() if outcome == "completed"]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    [winner] = winners
    assert f"already completed by {winner}" in str(losers[0])
    assert nodes[0].instance_data(instance_id)["description"] == winner
    with nodes[0].reader() as session:
        completions = session.scalars(select(AuditEvent).where(AuditEvent.command == "complete")).all()
    assert [event.actor for event in completions] == [winner]
