"""A separate process for the outbox crash test: records a T2 call and dies, or restarts and delivers.

``python -m tests.procedure.outbox_crash_child URL INSTANT record NUMBER``: records a repeat
call of complaint NUMBER and is killed (SIGKILL, no clean-up of any kind) at the instant the
intake command has committed, before anything after the commit runs: the hook the engine
calls after every commit (``engine.outbox.after_commit``) is where it dies.

``... restart``: a fresh process starting up: it delivers what the outbox holds pending, as
the scheduler's start-up job does (``engine.scheduler.outbox_job``), and prints the count.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime

from engine import audit_key
from engine.clock import FrozenClock
from engine.db import make_db_engine, make_session_factories
from engine.scheduler import outbox_job
from engine.service import ProcessEngine
from tasks.registry import REGISTRY
from tests.procedure import support


def main(url: str, instant: str, mode: str, *args: str) -> None:
    key = audit_key.parse_key(os.environ["AUDIT_KEY"], "AUDIT_KEY")
    writer, reader = make_session_factories(make_db_engine(url))
    engine = ProcessEngine(
        writer, reader, REGISTRY, clock=FrozenClock(datetime.fromisoformat(instant)), audit_key=key, node=mode
    )
    if mode == "record":
        call = engine.start(actor="agent").instance_id
        print(call, flush=True)
        engine.outbox.after_commit = lambda ids: os.kill(os.getpid(), signal.SIGKILL)
        support.complete(engine, call, "task_record_complaint", support.record(repeat_of=args[0]))
        raise SystemExit("not killed: the hook after the commit did not run")
    print(outbox_job(engine).run(), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
