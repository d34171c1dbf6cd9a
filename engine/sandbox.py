"""Running diagram code (expressions, conditions, scripts) in RestrictedPython's sandbox.

Code is compiled by ``engine.sandbox_policy`` (once per distinct text) and runs with:

- only the task data, the engine's helper functions and ``ALLOWED_BUILTINS`` in scope,
  some of them guarded (``range`` and ``str`` check sizes; ``map``, ``filter``, ``zip``,
  ``enumerate``, ``reversed`` and sort keys count loop steps);
- attribute reads checked against ``ALLOWED_ATTRIBUTES`` by the *type* of the object,
  so a helper function, a class, a generator or a frame has no readable attribute at all;
- a ``Budget`` of loop steps, seconds and memory growth, checked at every loop step;
- the size checks of ``engine.sandbox_limits`` on operators, formatting and growing
  methods, and on what the code leaves behind (its result, or the task data).

A refusal or an exceeded limit raises ``SandboxError``; ``engine.spiff.ScriptEngine``
turns it into a ``ProcessError`` naming the element, so the command fails and the
node carries on.
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence

from engine.sandbox_limits import (
    BINARY_GUARDS,
    MAX_DATA_SIZE,
    MAX_ITEMS,
    MAX_MEMORY_GROWTH,
    MAX_SECONDS,
    MAX_STEPS,
    MEMORY_CHECK_STEPS,
    SandboxError,
    SandboxLimit,
    guarded_format,
    guarded_inplace,
    guarded_method,
    guarded_range,
    guarded_str,
    size_of,
)
from engine.sandbox_policy import ALLOWED_ATTRIBUTES, ALLOWED_BUILTINS, FORMAT_GUARD, GUARD_NAMES, compiled

_PLAIN_BUILTINS = {
    name: getattr(builtins, name)
    for name in ALLOWED_BUILTINS
    - {"range", "str", "format", "map", "filter", "zip", "enumerate"}
    - {"reversed", "sorted", "min", "max", "sum", "isinstance"}
}
_STATIC_GUARDS: dict[str, Any] = {
    **{GUARD_NAMES[symbol]: function for symbol, function in BINARY_GUARDS.items()},
    "_inplacevar_": guarded_inplace,
    "_getitem_": lambda value, key: value[key],
    "_write_": full_write_guard,
    "_unpack_sequence_": guarded_unpack_sequence,
}


def getattr_guard(value: Any, name: str, default: Any = None) -> Any:
    """``value.name`` for diagram code: only the listed attributes of the listed types."""
    allowed = _allowed_attributes(type(value))
    if not isinstance(name, str) or name not in allowed:
        raise SandboxError(f"'{name}' of a {type(value).__name__} value may not be read by diagram code")
    return guarded_method(value, name, getattr(value, name))


def _allowed_attributes(kind: type) -> frozenset[str]:
    for base in kind.__mro__:
        allowed = ALLOWED_ATTRIBUTES.get(base)
        if allowed is not None:
            return allowed
    return frozenset()


class Budget:
    """Loop steps, seconds and memory one evaluation may still spend; checked at every loop step."""

    __slots__ = ("_steps", "_deadline", "_memory_at_start")

    def __init__(self, steps: int = MAX_STEPS, seconds: float = MAX_SECONDS) -> None:
        self._steps = steps
        self._deadline = time.monotonic() + seconds
        self._memory_at_start: int | None = None

    def step(self) -> None:
        self._steps -= 1
        if self._steps < 0:
            raise SandboxLimit(f"the code ran more than {MAX_STEPS:,} loop steps")
        if time.monotonic() > self._deadline:
            raise SandboxLimit(f"the code ran longer than {MAX_SECONDS:g} s")
        if self._steps % MEMORY_CHECK_STEPS == 0:
            self._check_memory()

    def _check_memory(self) -> None:
        # Read lazily: code without loops (nearly all of it) never pays for it.
        resident = _resident_bytes()
        if resident is None:
            return
        if self._memory_at_start is None:
            self._memory_at_start = resident
        elif resident - self._memory_at_start > MAX_MEMORY_GROWTH:
            raise SandboxLimit(f"the code used more than {MAX_MEMORY_GROWTH // 2**20} MiB of memory")

    def iterate(self, values: Iterable[Any]) -> Iterator[Any]:
        for value in values:
            self.step()
            yield value

    def counted(self, function: Callable[..., Any] | None) -> Callable[..., Any] | None:
        """A key function for sorted/min/max: each call is a loop step."""
        if function is None:
            return None

        def call(value: Any) -> Any:
            self.step()
            return function(value)

        return call

    def scope(self) -> dict[str, Any]:
        """The guards and builtins of one evaluation, bound to this budget."""
        iterate = self.iterate

        def sorted_(values: Iterable[Any], *, key: Callable[..., Any] | None = None, reverse: bool = False):
            return sorted(iterate(values), key=self.counted(key), reverse=reverse)

        def min_(*values: Any, key: Callable[..., Any] | None = None, **default: Any) -> Any:
            return min(*_counted_args(values, iterate), key=self.counted(key), **default)

        def max_(*values: Any, key: Callable[..., Any] | None = None, **default: Any) -> Any:
            return max(*_counted_args(values, iterate), key=self.counted(key), **default)

        def sum_(values: Iterable[Any], start: Any = 0) -> Any:
            total = start
            for value in iterate(values):
                total = BINARY_GUARDS["+"](total, value)
            return total

        guarded_builtins = {
            **_PLAIN_BUILTINS,
            "range": guarded_range,
            "str": guarded_str,
            "format": guarded_format,
            "isinstance": _isinstance,
            "map": lambda function, *values: iterate(map(function, *values)),
            "filter": lambda function, values: iterate(filter(function, values)),
            "zip": lambda *values, strict=False: iterate(zip(*values, strict=strict)),
            "enumerate": lambda values, start=0: iterate(enumerate(values, start)),
            "reversed": lambda values: iterate(reversed(values)),
            "sorted": sorted_,
            "min": min_,
            "max": max_,
            "sum": sum_,
        }
        return {
            "__builtins__": guarded_builtins,
            **_STATIC_GUARDS,
            "_getattr_": getattr_guard,
            "_getiter_": iterate,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_apply_": lambda function, *args, **kwargs: function(*args, **kwargs),
            FORMAT_GUARD: _format_field,
        }


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _resident_bytes() -> int | None:
    """The process's resident memory (Linux), or None where it cannot be read cheaply."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _counted_args(values: tuple[Any, ...], iterate: Callable[[Any], Iterator[Any]]) -> tuple[Any, ...]:
    return (iterate(values[0]),) if len(values) == 1 else values


_GUARDED_TYPES = {guarded_str: str, guarded_range: range}


def _isinstance(value: Any, kinds: Any) -> bool:
    """``isinstance`` that knows ``str`` and ``range`` in diagram code are their guarded versions."""
    if isinstance(kinds, tuple):
        kinds = tuple(_GUARDED_TYPES.get(kind, kind) for kind in kinds)
    else:
        kinds = _GUARDED_TYPES.get(kinds, kinds)
    return isinstance(value, kinds)


def _format_field(value: Any, conversion: str, spec: str) -> str:
    if conversion == "r":
        value = repr(value)
    elif conversion == "a":
        value = ascii(value)
    elif conversion == "s":
        value = guarded_str(value)
    return guarded_format(value, spec)


# --------------------------------------------------------------------------- entry points


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    """The value of ``expression`` with ``names`` (helpers, task data) in scope."""
    code = compiled(expression, "eval")
    scope = {**names, **Budget().scope()}
    try:
        result = eval(code, scope)  # noqa: S307 - restricted code, guarded scope
    except (MemoryError, RecursionError) as error:
        raise SandboxLimit(
            f"the expression needed too much memory or recursion ({type(error).__name__})"
        ) from None
    size_of(result, MAX_DATA_SIZE)
    return result


def execute(script: str, data: dict[str, Any], names: Mapping[str, Any]) -> None:
    """Run ``script`` on ``data`` (changed in place) with ``names`` (helpers) in scope.

    Everything added to ``data`` for the run (helpers, guards, builtins) is taken out
    again, whatever happens; what the script assigned stays.
    """
    code = compiled(script, "exec")
    scope = {**names, **Budget().scope()}
    data.update(scope)
    try:
        exec(code, data)  # noqa: S102 - restricted code, guarded scope
    except (MemoryError, RecursionError) as error:
        raise SandboxLimit(
            f"the script needed too much memory or recursion ({type(error).__name__})"
        ) from None
    finally:
        for name in scope:
            data.pop(name, None)
    size_of(data, MAX_DATA_SIZE)


__all__ = ["Budget", "MAX_ITEMS", "SandboxError", "SandboxLimit", "evaluate", "execute", "getattr_guard"]
