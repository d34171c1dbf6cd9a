"""Whole numbers from URLs, bounded to what the database can store.

An id beyond what an id column holds reaches the database as an error, a 500 (SQLite's
driver overflows past 64 bits; PostgreSQL's INTEGER, the type of every id column here,
refuses anything past 32 bits). Here a route id out of range simply does not match (404: there
is no such row), and a query parameter out of range is a 400 that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER: every id column is one (SQLite's holds more)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that matches only 0..MAX_ID unless the rule says otherwise."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class BadNumber(BadRequest):
    """A query parameter that is not a whole number in ``minimum..maximum``; ``field`` names it."""

    def __init__(self, field: str, problem: str, minimum: int, maximum: int) -> None:
        self.field, self.problem, self.minimum, self.maximum = field, problem, minimum, maximum
        super().__init__(f"{field}: {problem}")


def query_int(
    args: Mapping[str, str], name: str, default: int, *, minimum: int = 1, maximum: int = MAX_ID
) -> int:
    """``args[name]`` as a whole number within ``minimum..maximum``, ``default`` when absent."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise BadNumber(name, _at_least(minimum), minimum, maximum)
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(maximum)) or int(digits) > maximum:  # length first: int() of 10,000 digits
        raise BadNumber(name, f"a whole number up to {maximum}", minimum, maximum)
    if int(digits) < minimum:
        raise BadNumber(name, _at_least(minimum), minimum, maximum)
    return int(digits)


def _at_least(minimum: int) -> str:
    return "a positive whole number" if minimum == 1 else f"a whole number from {minimum}"
