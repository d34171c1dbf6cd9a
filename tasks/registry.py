"""The complaint domain's handler registry, which the engine resolves diagram names against."""

from engine.handlers import HandlerRegistry

REGISTRY = HandlerRegistry()

# Importing the handler modules registers them.
from tasks import handlers  # noqa: E402, F401
