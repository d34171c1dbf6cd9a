"""What validation reports: a :class:`Problem` per fault, and the parsed documents it checks.

Every check module adds to one :class:`Report` about :class:`Document` s, so each problem
names the file, the line and the element, and a fault is reported once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.bpmn_xml import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, NS

_PREFIXES = {uri: prefix for prefix, uri in NS.items()}
ID_NAMESPACES = frozenset({BPMN_NS, BPMNDI_NS, DC_NS, DI_NS})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bundle, located as precisely as the source allows."""

    file: str
    line: int | None
    element_id: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [f"{where}:"] if where else []
        if self.element_id:
            parts.append(f"[{self.element_id}]")
        parts.append(self.message)
        return " ".join(parts)

    def sort_key(self) -> tuple[str, int, str, str]:
        return (self.file, self.line or 0, self.element_id or "", self.message)


class BundleInvalid(Exception):
    """The bundle was read but cannot be deployed; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class Report:
    """The problems found so far, each once; remembers which elements a lint problem named."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._seen: set[Problem] = set()
        self.flagged: set[tuple[str, str]] = set()  # (file, element id) with a lint problem

    def add(self, file: str, line: int | None, element_id: str | None, message: str) -> None:
        problem = Problem(file, line, element_id or None, message)
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)

    def lint(self, doc: Document, element: Any, message: str, line: int | None = None) -> None:
        """A problem about ``element`` (or the nearest enclosing element with an id)."""
        owner = doc.owner_id(element)
        if owner:
            self.flagged.add((doc.name, owner))
        self.add(doc.name, line if line is not None else element.sourceline, owner, message)


@dataclass
class Document:
    name: str
    root: Any
    schema_valid: bool = True
    ids: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for element in self.root.iter():
            if namespace(element) in ID_NAMESPACES:
                element_id = element.get("id")
                if element_id is not None:
                    self.ids.setdefault(element_id, element)

    def line_of(self, element_id: str | None) -> int | None:
        element = self.ids.get(element_id) if element_id else None
        return element.sourceline if element is not None else None

    def owner_id(self, element: Any) -> str | None:
        """The id of the element, or of its nearest BPMN ancestor that has one.

        Event definitions are skipped: modelers give them ids, but an author knows the event.
        """
        while element is not None:
            if (
                namespace(element) in ID_NAMESPACES
                and element.get("id")
                and not etree.QName(element).localname.endswith("EventDefinition")
            ):
                return element.get("id")
            element = element.getparent()
        return None

    def xpath(self, path: str, node: Any = None) -> list[Any]:
        return (self.root if node is None else node).xpath(path, namespaces=NS)


def namespace(element: Any) -> str | None:
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    return tag[1:].split("}", 1)[0]


def short_tag(text: str) -> str:
    """``{uri}local`` -> ``prefix:local`` for the namespaces a BPMN author knows."""
    return re.sub(
        r"\{([^}]*)\}",
        lambda m: f"{_PREFIXES[m.group(1)]}:" if m.group(1) in _PREFIXES else "",
        text,
    )
