"""The ``spiffworkflow:properties`` of every element of a deployed version, by element id.

What the domain needs to know of an element (a user task's ``stage``, a timer's ``clock``)
is a property drawn on it, read here once per version (versions are immutable), so no
element id of a procedure has to be spelled in Python: the domain asks for the elements
carrying a property, e.g. ``with_property(index, "stage")``. Every process of the version
is read (main process, called processes, embedded and event subprocesses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ElementProperties = Mapping[str, Mapping[str, str]]


def element_properties(specs: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Element id -> its properties, for every element of ``specs`` that has any."""
    found: dict[str, dict[str, str]] = {}
    for spec in specs.values():
        for task_spec in spec.task_specs.values():
            element_id = getattr(task_spec, "bpmn_id", None)
            properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            if element_id and properties:
                found.setdefault(element_id, {}).update(properties)
    return found


def with_property(index: ElementProperties, name: str) -> dict[str, str]:
    """Element id -> the value of property ``name``, for the elements that carry it."""
    return {element: values[name] for element, values in index.items() if values.get(name)}
