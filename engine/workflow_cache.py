"""The live workflows a node keeps between commands (see ``engine.service``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class WorkflowCache:
    """Live workflows of recently used instances, keyed by the row version they match.

    A command takes its workflow out (so no two threads share one) and puts it back
    only after its commit; a failed command simply never returns it. It is small on
    purpose: it serves the run of commands someone makes on the complaint in front of
    them, and every cached workflow is ~10^4 live objects the garbage collector walks.
    """

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: int, version: int) -> Any | None:
        with self._lock:
            item = self._items.pop(instance_id, None)
        return item[1] if item is not None and item[0] == version else None

    def put(self, instance_id: int, version: int, workflow: Any) -> None:
        with self._lock:
            self._items[instance_id] = (version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
