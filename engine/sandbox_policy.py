"""What diagram code may say: RestrictedPython's policy, tightened for process owners' code.

One policy serves validation (``refusals``: every problem, each with its line) and the
runtime (``compiled``: the code object, compiled once per distinct text), so a draft is
refused for exactly what would be refused when it runs.

Beyond RestrictedPython's own rules (no names or attributes starting with ``_``, no
``exec``/``eval``), diagram code may not define functions (``def``, ``lambda``), classes
or generators, import, loop with ``while``, catch exceptions, use ``with``, ``global``
or ``*`` unpacking, set attributes, call a builtin outside ``ALLOWED_BUILTINS``, or read
an attribute that no allowed type (text, numbers, lists, dicts, sets, dates and
durations) has; ``str.format``/``format_map`` are refused as well (a format string reads
attributes). Operators that can build huge values and f-string fields are routed
through the guards of ``engine.sandbox_limits``; with constant operands the guard runs
here, so ``[0] * 10**9`` is refused at validation.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import CodeType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec

from engine.sandbox_limits import BINARY_GUARDS, MAX_CODE_CHARS, SandboxError, guarded_range

ALLOWED_BUILTINS = frozenset(
    {
        *("abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "format"),
        *("frozenset", "int", "isinstance", "len", "list", "map", "max", "min", "next", "range"),
        *("reversed", "round", "set", "sorted", "str", "sum", "tuple", "zip"),
        *("True", "False", "None", "ValueError", "KeyError", "TypeError", "Exception"),
    }
)
"""The builtins diagram code may use (``engine.sandbox`` gives guarded versions of some)."""

_STR = (
    *("capitalize", "casefold", "center", "count", "endswith", "find", "index", "isalnum"),
    *("isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric"),
    *("isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip"),
    *("partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust"),
    *("rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip"),
    *("swapcase", "title", "upper", "zfill"),
)
_NUMBER = ("real", "imag", "conjugate", "as_integer_ratio")
_SET = (
    *("copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset"),
    *("symmetric_difference", "union"),
)
_MUTABLE_SET = (
    *("add", "clear", "difference_update", "discard", "intersection_update", "pop", "remove"),
    *("symmetric_difference_update", "update"),
)
_DATE = (
    *("year", "month", "day", "isoformat", "weekday", "isoweekday", "isocalendar", "replace"),
    *("toordinal", "strftime", "ctime"),
)
_TIME = ("hour", "minute", "second", "microsecond", "fold", "utcoffset", "tzname", "dst")

ALLOWED_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: frozenset(_STR),
    int: frozenset((*_NUMBER, "bit_length", "bit_count", "numerator", "denominator")),
    bool: frozenset((*_NUMBER, "bit_length", "bit_count", "numerator", "denominator")),
    float: frozenset((*_NUMBER, "is_integer")),
    # Not list.sort: its key function would run uncounted; sorted() counts every key call.
    list: frozenset(("append", "clear", "copy", "count", "extend", "index", "insert", "pop"))
    | frozenset(("remove", "reverse")),
    tuple: frozenset(("count", "index")),
    dict: frozenset(("clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault"))
    | frozenset(("update", "values")),
    set: frozenset((*_SET, *_MUTABLE_SET)),
    frozenset: frozenset(_SET),
    datetime: frozenset((*_DATE, *_TIME, "date", "time", "timetz", "astimezone", "timestamp")),
    date: frozenset(_DATE),
    time: frozenset((*_TIME, "isoformat", "replace", "strftime")),
    timedelta: frozenset(("days", "seconds", "microseconds", "total_seconds")),
}
"""Per type (exact, or its nearest listed base), the attributes diagram code may read."""

_ANY_ALLOWED_ATTRIBUTE = frozenset().union(*ALLOWED_ATTRIBUTES.values())
_BUILTIN_NAMES = frozenset(dir(builtins))

_REFUSED_NODES: dict[type, str] = {
    ast.Lambda: "defines a lambda: diagram code may not define functions",
    ast.FunctionDef: "defines a function: diagram code may not define functions",
    ast.AsyncFunctionDef: "defines a function: diagram code may not define functions",
    ast.ClassDef: "defines a class: diagram code may not define classes",
    ast.Yield: "uses yield: diagram code may not define generators",
    ast.YieldFrom: "uses yield: diagram code may not define generators",
    ast.Await: "uses await: diagram code may not be asynchronous",
    ast.Import: "imports a module: diagram code may not import",
    ast.ImportFrom: "imports a module: diagram code may not import",
    ast.While: "uses a while loop: loop over data with for instead",
    ast.Try: "catches exceptions with try: let a failure stop the task",
    ast.TryStar: "catches exceptions with try: let a failure stop the task",
    ast.With: "uses with: diagram code has no context managers",
    ast.AsyncWith: "uses with: diagram code has no context managers",
    ast.AsyncFor: "uses async for: diagram code may not be asynchronous",
    ast.Global: "uses global: diagram code may not declare globals",
    ast.Nonlocal: "uses nonlocal: diagram code may not declare nonlocals",
    ast.Starred: "unpacks with *: build the list explicitly",
    ast.NamedExpr: "uses := : assign in a script statement instead",
}
_GUARDED_OPERATORS: dict[type, str] = {
    ast.Add: "+",
    ast.Mult: "*",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.Mod: "%",
}
GUARD_NAMES = {symbol: f"_op{index}_" for index, symbol in enumerate(BINARY_GUARDS)}
"""The global name under which ``engine.sandbox`` provides each operator guard."""
FORMAT_GUARD = "_format_"


@dataclass(frozen=True)
class Refusal:
    """One thing diagram code may not do; ``line`` counts from 1 within the code."""

    line: int
    message: str


class CodeRefused(SandboxError):
    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(refusal.message for refusal in refusals))


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's transformer, with this project's refusals and guards."""

    def refuse(self, node: ast.AST, message: str) -> None:
        error = f"Line {getattr(node, 'lineno', None) or 1}: {message}"
        if error not in self.errors:  # a constant folded at each level is reported once
            self.errors.append(error)

    # RestrictedPython's own checks report through here, in its words.
    def error(self, node: ast.AST, info: str) -> None:
        self.refuse(node, info.rstrip("."))

    def visit(self, node: ast.AST) -> Any:
        refused = _REFUSED_NODES.get(type(node))
        if refused is not None:
            self.refuse(node, refused)
            return self.node_contents_visit(node)
        return super().visit(node)

    def generic_visit(self, node: ast.AST) -> Any:
        self.refuse(node, f"uses {type(node).__name__}, which diagram code may not use")
        return node

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is None:
            return
        if name.startswith("_") and name != "_":
            self.refuse(node, f"uses '{name}': names starting with '_' are not allowed")
        elif name in ("print", "printed"):
            self.refuse(node, f"uses '{name}': diagram code cannot print")

    def visit_Name(self, node: ast.Name) -> Any:
        self.check_name(node, node.id)
        if node.id in ("print", "printed"):
            return node
        return super().visit_Name(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        name = node.attr
        message = None
        if name.startswith("_"):
            message = f"reads '{name}': names starting with '_' are not allowed"
        elif name in ("format", "format_map"):
            message = f"calls '{name}': format strings can read attributes; use an f-string instead"
        elif name not in _ANY_ALLOWED_ATTRIBUTE:
            message = (
                f"reads '{name}': only the methods of text, numbers, lists, dicts, sets, dates "
                "and durations may be used"
            )
        elif not isinstance(node.ctx, ast.Load):
            message = f"sets the attribute '{name}': attributes cannot be set"
        if message is not None:
            node = self.node_contents_visit(node)  # inner problems first: a.__x__.y reports __x__ first
            self.refuse(node, message)
            return node
        return super().visit_Attribute(node)

    def visit_Call(self, node: ast.Call) -> Any:
        function = node.func
        refused = _BUILTIN_NAMES - ALLOWED_BUILTINS
        if isinstance(function, ast.Name) and function.id in refused and not function.id.startswith("_"):
            self.refuse(node, f"calls '{function.id}', which diagram code may not use")
            for argument in [*node.args, *node.keywords]:
                self.visit(argument)
            return node
        if isinstance(function, ast.Name) and function.id == "range":
            _fold(self, node, lambda: guarded_range(*[_constant(arg) for arg in node.args]))
        return super().visit_Call(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        symbol = _GUARDED_OPERATORS.get(type(node.op))
        if symbol is None:
            return super().visit_BinOp(node)
        _fold(self, node, lambda: _constant(node))
        node = self.node_contents_visit(node)
        call = ast.Call(
            func=ast.Name(GUARD_NAMES[symbol], ast.Load()), args=[node.left, node.right], keywords=[]
        )
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        """``f"{x!r:>10}"`` -> ``f"{_format_(x, 'r', '>10')}"``: widths and sizes are checked."""
        node = self.node_contents_visit(node)
        conversion = chr(node.conversion) if node.conversion != -1 else ""
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = ast.Call(
            func=ast.Name(FORMAT_GUARD, ast.Load()),
            args=[node.value, ast.Constant(conversion), spec],
            keywords=[],
        )
        node.value = ast.fix_missing_locations(ast.copy_location(call, node.value))
        node.conversion, node.format_spec = -1, None
        return node


class _NotConstant(Exception):
    pass


_FOLDABLE_OPERATORS: dict[type, Any] = {
    **{op: BINARY_GUARDS[symbol] for op, symbol in _GUARDED_OPERATORS.items()},
    ast.Sub: operator.sub,
    ast.FloorDiv: operator.floordiv,
}


def _constant(node: ast.AST) -> Any:
    """The value of a constant sub-expression (sizes checked on the way), else _NotConstant."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [_constant(item) for item in node.elts]
        return {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)](items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_constant(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _FOLDABLE_OPERATORS:
        return _FOLDABLE_OPERATORS[type(node.op)](_constant(node.left), _constant(node.right))
    raise _NotConstant


def _fold(policy: _Policy, node: ast.AST, evaluate: Any) -> None:
    try:
        evaluate()
    except SandboxError as error:
        policy.refuse(node, f"builds a value that is too large: {error}")
    except (_NotConstant, ArithmeticError, TypeError, ValueError):
        pass


# --------------------------------------------------------------------------- entry points


def refusals(source: str, mode: str) -> list[Refusal]:
    """Everything the policy refuses in ``source`` (which must be valid Python), in order."""
    return _compile(source, mode)[1]


def compiled(source: str, mode: str) -> CodeType:
    """The restricted code object for ``source`` ('eval' or 'exec'); CodeRefused lists why not."""
    code, refused = _compile(source, mode)
    if code is None:
        raise CodeRefused(refused or [Refusal(1, "is not valid Python")])
    return code


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> tuple[CodeType | None, list[Refusal]]:
    # Mirror SpiffWorkflow: eval() strips leading spaces and tabs from a string, exec() does not.
    text = source.lstrip(" \t") if mode == "eval" else source
    if len(text) > MAX_CODE_CHARS:
        return None, [
            Refusal(1, f"is {len(text):,} characters long, more than the limit of {MAX_CODE_CHARS:,}")
        ]
    compile_function = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compile_function(text, "<bpmn>", policy=_Policy)
    if result.errors:
        return None, [_refusal(error) for error in result.errors]
    return result.code, []


_ERROR_LINE = re.compile(r"^Line (\d+|None): (.*)$", re.DOTALL)


def _refusal(error: str) -> Refusal:
    found = _ERROR_LINE.match(error)
    if found is None:
        return Refusal(1, error)
    line = int(found.group(1)) if found.group(1).isdigit() else 1
    return Refusal(line, found.group(2))
