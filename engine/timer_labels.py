"""Deadline timers labelled with their figure, written into the diagram at deploy (issue 10).

A deadline timer carries ``spiffworkflow:properties`` ``clock`` (its id) and ``figure`` (the
config key whose figure it shows). The domain registers a labeller that turns (config, clock,
figure) into words; here every such timer's ``name`` attribute becomes "<clock> <words>", so
the picture can never disagree with the config. The edit is made in the file's bytes, not by
re-serialising the tree: everything else (DI, comments, attribute order) stays byte-for-byte,
and relabelling an already-right diagram returns the very same bytes (the content hash holds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from engine.bpmn_xml import NS, property_values
from engine.bundle import Bundle, bundle_from_files
from engine.handlers import TimerLabeller
from engine.property_names import CLOCK, FIGURE

_TIMER_EVENTS = "self::bpmn:boundaryEvent or self::bpmn:startEvent or self::bpmn:intermediateCatchEvent"


class LabelError(ValueError):
    """The figure a timer names cannot be shown (no such config key, or a table not understood)."""


@dataclass(frozen=True)
class DeadlineTimer:
    """A timer event carrying a ``clock`` property, as found in one diagram file."""

    file: str
    element_id: str
    line: int | None
    clock: str
    figure: str | None


def deadline_timers(file: str, data: bytes) -> list[DeadlineTimer]:
    """Every timer event of the file with a ``clock`` property (no DTD, no entities loaded)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser=parser)
    found = []
    for event in root.xpath(f"//*[({_TIMER_EVENTS}) and bpmn:timerEventDefinition]", namespaces=NS):
        props = property_values(event)
        if props.get(CLOCK):
            found.append(
                DeadlineTimer(
                    file, event.get("id"), event.sourceline, props[CLOCK], props.get(FIGURE) or None
                )
            )
    return found


def timer_label(config: Mapping[str, Any], timer: DeadlineTimer, labeller: TimerLabeller) -> str:
    """The label a timer must show; LabelError (naming the property) when there is none."""
    if timer.figure is None:
        raise LabelError(
            f"deadline timer with clock '{timer.clock}' has no 'figure' property "
            "(the procedure.toml key whose figure it shows)"
        )
    try:
        words = labeller(config, timer.clock, timer.figure)
    except LabelError as error:
        raise LabelError(f"clock '{timer.clock}', figure '{timer.figure}': {error}") from None
    return f"{timer.clock} {words}"


def label_bundle(
    bundle: Bundle, config: Mapping[str, Any], labeller: TimerLabeller
) -> tuple[Bundle, list[tuple[DeadlineTimer, str]]]:
    """The bundle with every deadline timer labelled, and the timers that could not be (with why).

    Files that are not well-formed XML are left as they are: validation reports them.
    """
    files = dict(bundle.files)
    problems: list[tuple[DeadlineTimer, str]] = []
    for name, data in bundle.bpmn_files.items():
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            continue
        try:
            timers = deadline_timers(name, data)
        except etree.XMLSyntaxError:
            continue
        labels: dict[str, str] = {}
        for timer in timers:
            try:
                labels[timer.element_id] = timer_label(config, timer, labeller)
            except LabelError as error:
                problems.append((timer, str(error)))
        if labels:
            files[name] = relabel(data, labels)
    if files == dict(bundle.files):
        return bundle, problems
    return bundle_from_files(files), problems


# --------------------------------------------------------------------------- byte-level edit

_ATTRS = r"""(?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*"""
_NAME_ATTR = re.compile(r"""(\sname\s*=\s*)("[^"]*"|'[^']*')""")
_BOUNDS = re.compile(rb"<(?:[\w.-]+:)?Bounds\b" + _ATTRS.encode() + rb"\s*/?>")
_NUMBER_ATTR = r"""(\s{0}\s*=\s*")([^"]*)(")"""
_LINE_HEIGHT = 14  # px per label line in bpmn-js (11 px font)


def relabel(data: bytes, labels: Mapping[str, str]) -> bytes:
    """``data`` with each element's ``name`` set to its label and its DI label widened to fit."""
    for element_id, label in labels.items():
        data = _set_name(data, element_id, label)
        data = _fit_label_bounds(data, element_id, label)
    return data


def _start_tag(data: bytes, attribute: str, value: str) -> Iterator[re.Match[bytes]]:
    pattern = rb"<[\w.:-]+" + _ATTRS.encode() + rb"\s*/?>"
    needle = re.compile(
        rb"\s" + attribute.encode() + rb"""\s*=\s*["']""" + re.escape(value.encode()) + rb"""["']"""
    )
    for match in re.finditer(pattern, data):
        if needle.search(match.group(0)):
            yield match


def _set_name(data: bytes, element_id: str, label: str) -> bytes:
    tag_match = next(_start_tag(data, "id", element_id), None)
    if tag_match is None:
        return data
    tag = tag_match.group(0).decode()
    quoted = '"' + escape(label, {'"': "&quot;"}) + '"'
    existing = _NAME_ATTR.search(tag)
    if existing:
        new_tag = tag[: existing.start(2)] + quoted + tag[existing.end(2) :]
    else:
        id_attr = re.search(r"""\sid\s*=\s*("[^"]*"|'[^']*')""", tag)
        assert id_attr is not None
        new_tag = tag[: id_attr.end()] + f" name={quoted}" + tag[id_attr.end() :]
    if new_tag == tag:
        return data
    return data[: tag_match.start()] + new_tag.encode() + data[tag_match.end() :]


def label_width(label: str) -> int:
    """Rough rendered width in px at bpmn-js's 11 px label font (CJK glyphs are about square)."""
    return sum(11 if ord(char) >= 0x2E80 else 6 for char in label)


def _fit_label_bounds(data: bytes, element_id: str, label: str) -> bytes:
    """Widen (never shrink) the BPMNLabel bounds of the element's shape so the label fits.

    A label drawn without bounds (bpmn-js places it under the event) is left alone.
    """
    shape = next(_start_tag(data, "bpmnElement", element_id), None)
    if shape is None or shape.group(0).endswith(b"/>"):
        return data
    end = data.find(b"Shape>", shape.end())
    label_start = data.find(b"BPMNLabel", shape.end(), end)
    if end < 0 or label_start < 0:
        return data
    bounds = _BOUNDS.search(data, label_start, end)
    if bounds is None:
        return data
    tag = bounds.group(0).decode()
    x, width, height = _number(tag, "x"), _number(tag, "width"), _number(tag, "height")
    if x is None or width is None or height is None:
        return data
    needed = label_width(label)
    new_width = max(width, min(needed, 180))
    new_height = max(height, _LINE_HEIGHT * math.ceil(needed / new_width))
    if (new_width, new_height) == (width, height):
        return data
    tag = _with_number(tag, "x", x - (new_width - width) / 2)  # widened about its centre
    tag = _with_number(_with_number(tag, "width", new_width), "height", new_height)
    return data[: bounds.start()] + tag.encode() + data[bounds.end() :]


def _number(tag: str, name: str) -> float | None:
    found = re.search(_NUMBER_ATTR.format(name), tag)
    try:
        return float(found.group(2)) if found else None
    except ValueError:
        return None


def _with_number(tag: str, name: str, value: float) -> str:
    text = str(int(value)) if float(value).is_integer() else str(value)
    return re.sub(_NUMBER_ATTR.format(name), lambda m: m.group(1) + text + m.group(3), tag, count=1)
