"""How much one diagram expression or script may compute, and the operators that enforce it.

Diagram code is written by process owners, who are not trusted with the server: an
expression must not run forever nor fill the memory. Loops are bounded by
``engine.sandbox.Budget`` (steps and seconds); values by the checks here, applied
where a value can grow faster than the code that builds it (``*``, ``**``, ``<<``,
``+``, ``|``, ``^``, ``%``, ``str()``, f-strings, ``join``, ``replace``...).
``engine.sandbox_policy`` also runs these operators on constant operands at
validation, so ``[0] * 10**9`` is refused before it is ever deployed.

The limits are far above what the procedure needs (its expressions handle a few
dozen values and strings of a few hundred characters) and far below what would
hurt a node.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

MAX_SECONDS = 1.0
"""Wall-clock time one evaluation may take, checked at every loop step."""
MAX_STEPS = 1_000_000
"""Loop steps (``for``, comprehensions, ``map``, ``sorted`` keys...) of one evaluation."""
MAX_ITEMS = 100_000
"""Characters of a string, items of a list, tuple, set or dict, length of a ``range``."""
MAX_MEMORY_GROWTH = 256 * 1024 * 1024
"""Growth of the process's resident memory during one evaluation, checked every
``MEMORY_CHECK_STEPS`` loop steps (where /proc/self/statm exists): what a loop keeping
many values within the other limits could otherwise fill."""
MEMORY_CHECK_STEPS = 256
MAX_INT_BITS = 100_000
"""Size of an integer (about 30,000 decimal digits)."""
MAX_DATA_SIZE = 10_000_000
"""Size of what an evaluation leaves behind (its result, or the task data after a script),
counted as characters plus items with shared parts counted each time they appear, as they
would be when the data is saved as JSON."""
MAX_DEPTH = 100
"""Nesting of lists and dicts in what an evaluation leaves behind."""
MAX_CODE_CHARS = 20_000
"""Length of one expression or script."""


class SandboxError(Exception):
    """Diagram code tried something the sandbox does not allow; the message says what."""


class SandboxLimit(SandboxError):
    """Diagram code went over a time or size limit."""


_SEQUENCES = (str, list, tuple)
_SCALARS = (int, float, bool, type(None), date, datetime, time, timedelta)


def _too_big(what: str, size: int, limit: int) -> SandboxLimit:
    return SandboxLimit(f"{what} would have {size:,} items, more than the limit of {limit:,}")


def _check_items(size: int, what: str = "the result") -> None:
    if size > MAX_ITEMS:
        raise _too_big(what, size, MAX_ITEMS)


def size_of(value: Any, limit: int = MAX_DATA_SIZE) -> int:
    """Characters plus items of ``value`` as if written out (JSON, ``str()``); raises above ``limit``.

    Shared parts count every time they appear, since writing them out repeats them;
    each distinct container is measured once, so this stays cheap for any shape.
    """
    measured: dict[int, int] = {}

    def measure(item: Any, depth: int) -> int:
        kind = type(item)
        if kind is str:
            return len(item) + 2
        if isinstance(item, _SCALARS):
            return 8 if kind is not int else 1 + item.bit_length() // 3
        key = id(item)
        known = measured.get(key)
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise SandboxLimit(f"a value is nested more than {MAX_DEPTH} levels deep")
        measured[key] = 4  # a cycle is written as "[...]"
        total = 2
        if isinstance(item, dict):
            for name, inner in item.items():
                total += measure(name, depth + 1) + measure(inner, depth + 1)
                if total > limit:
                    break
        elif isinstance(item, list | tuple | set | frozenset):
            for inner in item:
                total += measure(inner, depth + 1) + 1
                if total > limit:
                    break
        else:
            total += 64  # another object: its repr
        if total > limit:
            raise SandboxLimit(f"a value would be larger than the limit of {limit:,} characters")
        measured[key] = total
        return total

    return measure(value, 0)


# --------------------------------------------------------------------------- operators


def guarded_add(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_items(len(left) + len(right))
    return left + right


def guarded_mul(left: Any, right: Any) -> Any:
    if isinstance(right, _SEQUENCES) and isinstance(left, int):
        left, right = right, left
    if isinstance(left, _SEQUENCES) and isinstance(right, int):
        if right > 0 and len(left):
            _check_items(len(left) * right)
            if not isinstance(left, str):  # [big] * n repeats big n times when written out
                size = size_of(left, MAX_DATA_SIZE)
                if size * right > MAX_DATA_SIZE:
                    raise _too_big("the result", size * right, MAX_DATA_SIZE)
    elif isinstance(left, int) and isinstance(right, int):
        _check_bits(left.bit_length() + right.bit_length())
    return left * right


def guarded_pow(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        _check_bits((abs(left).bit_length() - 1) * right)
    return left**right


def guarded_lshift(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left and right > 0:
        _check_bits(left.bit_length() + right)
    return left << right


def guarded_or(left: Any, right: Any) -> Any:
    if isinstance(left, set | frozenset | dict) and isinstance(right, set | frozenset | dict):
        _check_items(len(left) + len(right))
    return left | right


def guarded_xor(left: Any, right: Any) -> Any:
    if isinstance(left, set | frozenset) and isinstance(right, set | frozenset):
        _check_items(len(left) + len(right))
    return left ^ right


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_SPEC_NUMBERS = re.compile(r"\d+")


def guarded_mod(left: Any, right: Any) -> Any:
    """``"%s" % value``: widths and what the values expand to stay within the limits."""
    if isinstance(left, str):
        total = len(left) + size_of(right, MAX_ITEMS)
        for width, precision in _PERCENT_FIELD.findall(left):
            if "*" in (width, precision):
                raise SandboxError("'%*' widths taken from the values are not allowed")
            total += int(width or 0) + int(precision or 0)
        _check_items(total)
    return left % right


def guarded_format(value: Any, spec: str = "") -> str:
    """``format(value, spec)`` and f-string fields: widths and precisions within the limits."""
    if not isinstance(spec, str):
        raise SandboxError("a format spec must be text")
    _check_items(sum(int(number) for number in _FORMAT_SPEC_NUMBERS.findall(spec)) + 32 * len(spec))
    size_of(value, MAX_ITEMS)
    return format(value, spec)


def guarded_str(value: Any = "") -> str:
    size_of(value, MAX_ITEMS)
    return str(value)


BINARY_GUARDS: dict[str, Callable[[Any, Any], Any]] = {
    "+": guarded_add,
    "*": guarded_mul,
    "**": guarded_pow,
    "<<": guarded_lshift,
    "|": guarded_or,
    "^": guarded_xor,
    "%": guarded_mod,
}
_PLAIN_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
    ">>": operator.rshift,
    "&": operator.and_,
    "@": operator.matmul,
}


def guarded_inplace(op: str, left: Any, right: Any) -> Any:
    """``x += y`` and friends (RestrictedPython's ``_inplacevar_``): the same checks as ``x + y``."""
    symbol = op[:-1]
    function = BINARY_GUARDS.get(symbol) or _PLAIN_OPERATORS.get(symbol)
    if function is None:
        raise SandboxError(f"the operator {op} is not allowed")
    return function(left, right)


def guarded_range(*args: int) -> range:
    numbers = range(*args)
    _check_items(len(numbers), "the range")
    return numbers


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise SandboxLimit(
            f"a number would have about {bits:,} bits, more than the limit of {MAX_INT_BITS:,}"
        )


# --------------------------------------------------------------------------- growing methods


def guarded_method(value: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """The method itself, or a wrapper checking the size of what it would build."""
    check = _METHOD_CHECKS.get(name)
    if check is None:
        return method

    def checked(*args: Any, **kwargs: Any) -> Any:
        if name == "join" and args and not hasattr(args[0], "__len__"):
            args = (list(args[0]), *args[1:])  # a generator: its steps are counted already
        check(value, *args, **kwargs)
        return method(*args, **kwargs)

    return checked


def _check_replace(text: str, old: str = "", new: str = "", count: int = -1, *_: Any, **__: Any) -> None:
    if isinstance(old, str) and isinstance(new, str) and isinstance(text, str):
        found = text.count(old) if old else len(text) + 1
        if count >= 0:
            found = min(found, count)
        _check_items(len(text) + found * max(0, len(new) - len(old)))


def _check_join(separator: str, items: Any = (), *_: Any, **__: Any) -> None:
    total = len(separator) * max(0, len(items) - 1)
    for item in items:
        total += len(item) if isinstance(item, str) else 0
        _check_items(total)


def _check_width(_value: Any, width: int = 0, *_: Any, **__: Any) -> None:
    if isinstance(width, int):
        _check_items(width)


def _check_grow(value: Any, *others: Any, **_: Any) -> None:
    total = len(value)
    for other in others:
        total += len(other) if hasattr(other, "__len__") else 0
    _check_items(total)


def _check_strftime(_value: Any, pattern: str = "", *_: Any, **__: Any) -> None:
    if isinstance(pattern, str):
        _check_items(32 * len(pattern))


_METHOD_CHECKS: dict[str, Callable[..., None]] = {
    "replace": _check_replace,
    "join": _check_join,
    "ljust": _check_width,
    "rjust": _check_width,
    "center": _check_width,
    "zfill": _check_width,
    "extend": _check_grow,
    "update": _check_grow,
    "union": _check_grow,
    "symmetric_difference": _check_grow,
    "symmetric_difference_update": _check_grow,
    "strftime": _check_strftime,
}
