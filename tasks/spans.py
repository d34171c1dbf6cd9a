"""``deadline_span(key)``: a deadline's figure from procedure.toml, for timer expressions (issue 10).

A diagram's timer says ``due_in(deadline_span("first_reply_deadline"))`` instead of spelling
``"PT24H"``, so the figure lives in one place (the config of the deployed version) and a
change there changes the timer. The key is a table of procedure.toml (its ``span`` is the
figure: ``first_reply_deadline``, ``channel_transfer_deadline``, ``contact_window``) or a
dotted path to a duration inside a table (``review_deadlines.plan_approval``,
``dispatch_deadlines.urgent``). Unknown keys and values that are not ISO durations are
refused with a sentence naming the key, at the timer that asked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.calendar import parse_duration
from engine.handlers import HandlerRegistry

HANDLERS = HandlerRegistry()
"""This module's handlers; ``tasks.registry.build_registry`` gathers them."""


def span_of(config: Mapping[str, Any], key: str) -> str:
    """The ISO duration procedure.toml gives ``key`` (see the module docstring)."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"deadline_span: the key must be a procedure.toml key, not {key!r}")
    value: Any = config
    walked: list[str] = []
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            where = ".".join(walked) or "procedure.toml"
            known = ", ".join(sorted(str(k) for k in value)) if isinstance(value, Mapping) else "none"
            raise ValueError(
                f"deadline_span: procedure.toml has no key {key!r} "
                f"({part!r} is not in {where}; known: {known})"
            )
        value = value[part]
        walked.append(part)
    if isinstance(value, Mapping):
        if "span" not in value:
            raise ValueError(
                f"deadline_span: [{key}] in procedure.toml has no `span`; name the figure, e.g. {key}.<name>"
            )
        value = value["span"]
    if not isinstance(value, str):
        raise ValueError(f"deadline_span: {key!r} in procedure.toml is {value!r}, not an ISO duration")
    try:
        parse_duration(value)
    except ValueError as error:
        raise ValueError(
            f"deadline_span: {key!r} in procedure.toml is {value!r}, not an ISO duration ({error})"
        ) from None
    return value


@HANDLERS.config_function("deadline_span")
def deadline_span(config: Mapping[str, Any]) -> Callable[[str], str]:
    """Bound per deployed version: the running complaint keeps its version's figures."""

    def span(key: str) -> str:
        return span_of(config, key)

    return span
