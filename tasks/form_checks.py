"""Small checks the user-task validators share: blank text, evidence lists, configured codes.

A validator returns ``{field: message}`` or None; ``Errors`` is that mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.messages import N_

Errors = dict[str, str]


def text(values: Mapping[str, Any], name: str) -> str:
    """The stripped text of a field, "" when absent or not text (so blanks count as missing)."""
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def refs(values: Mapping[str, Any], name: str) -> list[str]:
    """H4: the non-blank evidence references of a list field."""
    return [ref for ref in values.get(name) or [] if isinstance(ref, str) and ref.strip()]


def check_code(errors: Errors, values: Mapping[str, Any], field: str, allowed: list[str], rule: str) -> None:
    """C1-C3: a code field holds one of the deployed config's codes."""
    value = values.get(field)
    if value is not None and value not in allowed:
        errors[field] = N_(
            "%(rule)s: %(value)r is not in the configured list (%(allowed)s)",
            rule=rule,
            value=value,
            allowed=", ".join(allowed),
        )
