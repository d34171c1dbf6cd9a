"""Step 1, XML safety: a hardened lxml parser (no DTD, no entities, no network, no huge trees).

A DOCTYPE or entity declaration is refused outright, before lxml sees the bytes.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine.validation.problems import BundleInvalid, Problem


def _safe_parser() -> etree.XMLParser:
    # One per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
    )


_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)\b")
_DOCTYPE_MESSAGE = "DOCTYPE and entity declarations are not allowed"


def parse_xml(data: bytes, file_name: str) -> tuple[Any, list[Problem]]:
    """(root, []) or (None, problems): never expands an entity or loads anything."""
    found = _DOCTYPE.search(data)
    if found:
        line = data.count(b"\n", 0, found.start()) + 1
        return None, [Problem(file_name, line, None, _DOCTYPE_MESSAGE)]
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as error:
        message = error.msg or str(error)
        return None, [Problem(file_name, error.lineno, None, f"not well-formed XML: {message}")]
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. a UTF-16 file
        return None, [Problem(file_name, 1, None, _DOCTYPE_MESSAGE)]
    return root, []


def parse_bpmn_safely(data: bytes, file_name: str) -> Any:
    """The lxml root of a BPMN file, parsed without DTDs, entities or network access.

    Raises :class:`BundleInvalid` for a DOCTYPE or entity declaration and for XML that is
    not well formed.
    """
    root, problems = parse_xml(data, file_name)
    if problems:
        raise BundleInvalid(problems)
    return root
