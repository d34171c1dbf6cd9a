"""Edit a TOML document by lines, keeping every comment, blank line and the order of keys.

The owner's settings forms change one value at a time in a config file that is mostly
comments written for people (the rule ids, the placeholders to fill before go-live). Parsing
and re-serialising would lose them, so a value is replaced in its own line, a missing key is
added at the end of its table and a missing table at the end of the file (or after its
siblings). Only single-line values are edited; every edit is checked by parsing the result
and reading the value back, so a file is never written that says something else.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

_HEADER = re.compile(r"^\s*\[(?!\[)(.*)\]\s*(#.*)?$")
_BARE = re.compile(r"[A-Za-z0-9_-]+")


class TomlEditError(ValueError):
    """The edit cannot be made safely (a multi-line value, a value TOML cannot hold)."""


def dump_value(value: Any) -> str:
    """A value as TOML text: strings, numbers, booleans, dates, lists and inline tables of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):  # an inline table: {mon = ["08:00-12:00"], sat = []}
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{dump_key(key)} = {dump_value(item)}" for key, item in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(dump_value(item) for item in value) + "]"
    raise TomlEditError(f"cannot write {value!r} in TOML")


def dump_key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _key_parts(text: str) -> tuple[str, ...] | None:
    """``a."b c".d`` -> ("a", "b c", "d"); None when it is not a dotted key."""
    try:
        parsed = tomllib.loads(f"{text} = 0")
    except tomllib.TOMLDecodeError:
        return None
    parts: list[str] = []
    node: Any = parsed
    while isinstance(node, dict):
        [(key, node)] = node.items()
        parts.append(key)
    return tuple(parts)


def _headers(lines: list[str]) -> list[tuple[int, tuple[str, ...]]]:
    found = []
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            parts = _key_parts(match.group(1).strip())
            if parts is not None:
                found.append((index, parts))
    return found


def _section(lines: list[str], table: tuple[str, ...]) -> tuple[int, int] | None:
    """(first line after the header, end) of a table; () is the top of the file."""
    headers = _headers(lines)
    if not table:
        return 0, headers[0][0] if headers else len(lines)
    for position, (index, parts) in enumerate(headers):
        if parts == table:
            end = headers[position + 1][0] if position + 1 < len(headers) else len(lines)
            return index + 1, end
    return None


def _value_end(text: str, start: int) -> int:
    """Index just past the value starting at ``start`` (quotes and brackets respected)."""
    depth, index, quote = 0, start, None
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "#" and depth == 0:
            break
        index += 1
    if quote or depth:
        raise TomlEditError("the value spans several lines; edit it in the advanced text")
    return len(text[:index].rstrip())


def _key_line(lines: list[str], first: int, end: int, key: str) -> int | None:
    for index in range(first, end):
        line = lines[index]
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        head = line.split("=", 1)[0].strip()
        if _key_parts(head) == (key,):
            return index
    return None


def _last_content(lines: list[str], first: int, end: int) -> int:
    """Index after the table's last key line: comments below it belong to the next table."""
    last = end
    while last > first and (not lines[last - 1].strip() or lines[last - 1].lstrip().startswith("#")):
        last -= 1
    return last


def get_value(text: str, table: Sequence[str], key: str) -> Any:
    node: Any = tomllib.loads(text)
    for part in (*table, key):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def set_value(text: str, table: Sequence[str], key: str, value: Any) -> str:
    """``text`` with ``[table] key = value`` (the key or the table added when missing)."""
    lines = text.split("\n")
    path = tuple(table)
    line_text = f"{dump_key(key)} = {dump_value(value)}"
    section = _section(lines, path)
    if section is None:
        lines = _insert_table(lines, path, [line_text])
    else:
        first, end = section
        found = _key_line(lines, first, end, key)
        if found is None:
            lines.insert(_last_content(lines, first, end), line_text)
        else:
            line = lines[found]
            equals = line.index("=") + 1
            start = equals + len(line[equals:]) - len(line[equals:].lstrip())
            stop = _value_end(line, start)
            lines[found] = line[:start] + dump_value(value) + line[stop:]
    return _checked("\n".join(lines), path, key, value)


def remove_key(text: str, table: Sequence[str], key: str) -> str:
    lines = text.split("\n")
    section = _section(lines, tuple(table))
    if section is None:
        return text
    found = _key_line(lines, *section, key)
    if found is None:
        return text
    del lines[found]
    result = "\n".join(lines)
    if get_value(result, table, key) is not None:
        raise TomlEditError(f"{'.'.join((*table, key))} could not be removed")
    return result


def add_table(text: str, table: Sequence[str], values: Mapping[str, Any]) -> str:
    """A new ``[table]`` with ``values``, after the last sibling table (same parent) if any."""
    lines = text.split("\n")
    path = tuple(table)
    if _section(lines, path) is not None:
        raise TomlEditError(f"[{'.'.join(path)}] exists already")
    body = [f"{dump_key(key)} = {dump_value(value)}" for key, value in values.items()]
    result = "\n".join(_insert_table(lines, path, body))
    for key, value in values.items():
        _checked(result, path, key, value)
    return result


def remove_table(text: str, table: Sequence[str]) -> str:
    """``text`` without ``[table]`` and its keys (its comment lines above are kept)."""
    lines = text.split("\n")
    section = _section(lines, tuple(table))
    if section is None:
        return text
    first, end = section
    end = _last_content(lines, first, end)
    del lines[first - 1 : end]
    while (
        first - 1 < len(lines)
        and first >= 2
        and not lines[first - 2].strip()
        and not lines[first - 1].strip()
    ):
        del lines[first - 1]
    return "\n".join(lines)


def _insert_table(lines: list[str], path: tuple[str, ...], body: list[str]) -> list[str]:
    header = "[" + ".".join(dump_key(part) for part in path) + "]"
    siblings = [
        index for index, parts in _headers(lines) if parts[:-1] == path[:-1] and len(parts) == len(path)
    ]
    block = [header, *body]
    if siblings and len(path) > 1:
        section = _section(lines, _headers(lines)[[i for i, _ in _headers(lines)].index(siblings[-1])][1])
        assert section is not None
        at = _last_content(lines, *section)
        return lines[:at] + ["", *block] + lines[at:]
    at = len(lines)
    while at > 0 and not lines[at - 1].strip():
        at -= 1
    return lines[:at] + ["", *block] + lines[at:]


def _checked(text: str, table: tuple[str, ...], key: str, value: Any) -> str:
    try:
        stored = get_value(text, table, key)
    except tomllib.TOMLDecodeError as error:
        raise TomlEditError(f"the edit would break the file: {error}") from None
    expected = [*value] if isinstance(value, tuple) else value
    if stored != expected:
        raise TomlEditError(f"{'.'.join((*table, key))} reads back as {stored!r}, not {value!r}")
    return text
