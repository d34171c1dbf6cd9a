"""Errors the engine raises to its callers; each says plainly what went wrong."""

from __future__ import annotations

from collections.abc import Mapping


class EngineError(Exception):
    """Base of every error a caller of the engine is expected to handle."""


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    """Someone else changed the instance first; nothing of this command was saved."""


class Forbidden(EngineError):
    pass


class InvalidInput(EngineError):
    """A validator refused the submitted fields; the task stays open, nothing is saved."""

    def __init__(self, field_errors: Mapping[str, str]) -> None:
        self.field_errors = dict(field_errors)
        listed = "; ".join(f"{name}: {message}" for name, message in self.field_errors.items())
        super().__init__(f"invalid input: {listed}")


class ProcessError(EngineError):
    """A diagram expression or a handler failed while the instance ran; nothing was saved."""

    def __init__(self, message: str, element_id: str | None = None) -> None:
        self.element_id = element_id
        super().__init__(f"{element_id}: {message}" if element_id else message)
