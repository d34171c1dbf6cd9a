"""``python -m web.scheduler_process``: this node's timers and breach warnings, in a process of their own.

``complaints serve`` starts exactly one per node (``web.server``). Request workers never
run a scheduler: firing a backlog of overdue timers here costs them no interpreter time.
The process ends on SIGTERM or SIGINT, and by itself when the server that started it is
gone, so a killed server leaves no scheduler behind.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from engine.audit_key import AuditKeyError

log = logging.getLogger("complaints.scheduler")

PARENT_CHECK_SECONDS = 1.0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [scheduler] %(levelname)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    from web import create_app, stop_scheduler

    parent = os.getppid()
    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda _signum, _frame: stopping.set())
    try:
        app = create_app({"SCHEDULER": True})
    except AuditKeyError as error:
        print(f"complaints scheduler: {error}", file=sys.stderr)
        return 1
    from web.server import settle_heap

    settle_heap()
    log.info("scheduler running (pid %s)", os.getpid())
    try:
        while not stopping.wait(PARENT_CHECK_SECONDS):
            if os.getppid() != parent:
                log.warning("the server that started this scheduler is gone: stopping")
                break
    finally:
        stop_scheduler(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
