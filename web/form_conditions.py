"""Which fields of a form apply, read from the JSON Schema's own conditionals (issue 13).

A form lists every field in its top-level ``properties`` (their order and titles). A field
that a conditional names, and the top level does not require, applies only when that
conditional holds:

* ``if``/``then``/``else`` (at the top level or in ``allOf``): the fields ``then`` names
  (``properties`` or ``required``) apply when ``if`` holds, those ``else`` names when not;
* ``dependentRequired`` ``{a: [b, c]}`` and ``dependentSchemas`` ``{a: {...}}``: b and c (the
  fields the schema names) apply once ``a`` is given.

A field that does not apply is hidden on the page and not sent; the server drops it too
(:func:`applicable_values`), so a value typed before its condition was unticked never
reaches the engine. A hidden field's own conditions no longer hold, so a chain
(tariff dispute -> over-charged -> compensation) closes from its first link.

``if`` may also read a value of the complaint that is not a field of the form (its
``complaint_types``, its ``channel``): ``context`` supplies those, e.g. the E1-E2 fields
apply to an escalated complaint only. The engine's own schema check sees the submission
alone, where such a condition never holds: its ``then`` must only describe, not require.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema


@dataclass(frozen=True)
class Condition:
    """One way a field comes to apply: ``test`` holds (``expect``) or ``present`` is given."""

    test: Mapping[str, Any] | None = None
    expect: bool = True
    present: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.present is not None:
            return {"present": self.present}
        return {"if": self.test, "expect": self.expect}


def conditions_of(schema: Mapping[str, Any]) -> dict[str, tuple[Condition, ...]]:
    """``{field: conditions}`` for the fields that apply only under a condition."""
    always = set(schema.get("required", ()))
    found: dict[str, list[Condition]] = {}
    for part in [schema, *(schema.get("allOf") or ())]:
        test = part.get("if")
        if isinstance(test, Mapping):
            for branch, expect in (("then", True), ("else", False)):
                for name in _named(part.get(branch)):
                    found.setdefault(name, []).append(Condition(test=test, expect=expect))
        for key, names in (part.get("dependentRequired") or {}).items():
            for name in names:
                found.setdefault(name, []).append(Condition(present=key))
        for key, branch in (part.get("dependentSchemas") or {}).items():
            for name in _named(branch):
                found.setdefault(name, []).append(Condition(present=key))
    return {name: tuple(conditions) for name, conditions in found.items() if name not in always}


def _named(branch: Any) -> set[str]:
    if not isinstance(branch, Mapping):
        return set()
    return set(branch.get("properties") or {}) | set(branch.get("required") or ())


def context_names(schema: Mapping[str, Any]) -> set[str]:
    """Names the conditions read that are not fields of the form (taken from the complaint)."""
    fields = set(schema.get("properties") or {})
    read: set[str] = set()
    for conditions in conditions_of(schema).values():
        for condition in conditions:
            if condition.test is not None:
                read |= set(condition.test.get("properties") or {}) | set(
                    condition.test.get("required") or ()
                )
            elif condition.present is not None:
                read.add(condition.present)
    return read - fields


def hidden_fields(
    schema: Mapping[str, Any], values: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> set[str]:
    """The fields that do not apply to ``values`` (the form's typed values)."""
    return set(schema.get("properties") or {}) - set(_settle(schema, values, context)[1])


def applicable_values(
    schema: Mapping[str, Any], values: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``values`` without the fields that do not apply (what the page would not have sent)."""
    return _settle(schema, values, context)[0]


def _settle(
    schema: Mapping[str, Any], values: Mapping[str, Any], context: Mapping[str, Any] | None
) -> tuple[dict[str, Any], set[str]]:
    conditions = conditions_of(schema)
    fields = list(schema.get("properties") or {})
    outside = {key: value for key, value in (context or {}).items() if key not in fields}
    kept = dict(values)
    for _ in range(len(fields) + 1):  # each round can only hide more: a fixed point is near
        seen = {**outside, **kept}
        shown = {name for name in fields if _applies(conditions.get(name, ()), seen)}
        trimmed = {key: value for key, value in kept.items() if key in shown or key not in fields}
        if trimmed == kept:
            return kept, shown
        kept = trimmed
    return kept, shown


def _applies(conditions: Iterable[Condition], seen: Mapping[str, Any]) -> bool:
    conditions = tuple(conditions)
    return not conditions or any(_holds(condition, seen) for condition in conditions)


def _holds(condition: Condition, seen: Mapping[str, Any]) -> bool:
    if condition.present is not None:
        return condition.present in seen
    return _checker(_frozen(condition.test)).is_valid(seen) == condition.expect


def _frozen(schema: Any) -> str:
    return json.dumps(schema, sort_keys=True)


@cache
def _checker(schema_text: str) -> Any:
    schema = json.loads(schema_text)
    return jsonschema.validators.validator_for(schema)(schema)
