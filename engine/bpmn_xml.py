"""BPMN XML as lxml reads it: the namespaces, a task's properties, an element's kind in words.

Validation, the modeling lint, the timer labeller and the diagram index all read the same
files; these helpers are written once here.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "spiffworkflow": SPIFF_NS}
PROPERTY_PATH = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"


def property_values(element: Any) -> dict[str, str]:
    """The element's ``spiffworkflow:property`` values by name, stripped; the first of a name wins."""
    found: dict[str, str] = {}
    for prop in element.xpath(PROPERTY_PATH, namespaces=NS):
        found.setdefault(prop.get("name"), (prop.get("value") or "").strip())
    return found


def element_kind(element: Any) -> str:
    """``userTask`` -> ``user task``: how a message names an element's kind."""
    local = etree.QName(element).localname
    return re.sub(r"(?<!^)([A-Z])", lambda m: " " + m.group(1).lower(), local)
