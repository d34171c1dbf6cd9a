"""The task page's "complaint so far": the process data in words, not ids (issue 13).

Each value is named by its form field's title (any form of the deployed version) or, for
the data the procedure itself writes (number, deadlines, groups), by a word of the page;
codes show as their choice titles or config labels, booleans as yes/no, instants in the
display zone. Data no one named is internal (counters, copies) and left out; returns are
shown as returns (tasks.returns), never as loose fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext

from tasks.returns import RETURN_FIELDS
from web.value_labels import group_label, in_language, shown

PROCEDURE_DATA = {
    "complaint_no": lazy_gettext("Complaint number"),
    "website_receipt": lazy_gettext("Website receipt reference"),
    "submitted_via": lazy_gettext("Submitted via"),
    "received_by": lazy_gettext("Received by"),
    "accepted_at": lazy_gettext("Accepted"),
    "order_type": lazy_gettext("Order type"),
    "dispatch_due": lazy_gettext("Dispatch due"),
    "department_group": lazy_gettext("Handling group"),
    "handling_due": lazy_gettext("Handling due"),
    "reply_group": lazy_gettext("Replying group"),
    "reply_due": lazy_gettext("Reply due"),
    "contact_due": lazy_gettext("Call-back window ends"),
    "dispatch_round": lazy_gettext("Dispatch round"),
}
ORDER_TYPES = {"ordinary": lazy_gettext("ordinary"), "urgent": lazy_gettext("urgent")}
SUBMITTED_VIA = {"website": lazy_gettext("the website's complaint form")}


def context_rows(data: Mapping[str, Any], forms: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """``[(label, value)]`` of the plain, non-empty data someone named."""
    fields: dict[str, Mapping[str, Any]] = {}
    for schema in forms.values():
        for name, spec in (schema.get("properties") or {}).items():
            fields.setdefault(name, spec)
    rows: list[tuple[str, str]] = []
    for key in [*PROCEDURE_DATA, *fields]:
        value = data.get(key)
        if key in RETURN_FIELDS or not isinstance(value, str | int | float | bool) or value == "":
            continue
        if key in PROCEDURE_DATA:
            rows.append((str(PROCEDURE_DATA[key]), _procedure_value(key, value)))
        else:
            spec = fields[key]
            rows.append((in_language(str(spec.get("title") or key)), _field_value(spec, value)))
    return rows


def _procedure_value(key: str, value: Any) -> str:
    if key.endswith("_group") or key == "received_by":
        return group_label(str(value))
    if key == "order_type":
        return str(ORDER_TYPES.get(str(value), value))
    if key == "submitted_via":
        return str(SUBMITTED_VIA.get(str(value), value))
    return shown(value)


def _field_value(spec: Mapping[str, Any], value: Any) -> str:
    for option in spec.get("oneOf") or ():
        if isinstance(option, Mapping) and option.get("const") == value:
            return in_language(str(option.get("title") or value))
    return shown(value)
