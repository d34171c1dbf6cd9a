"""The registry through which domain code plugs validators and service operations in.

The engine never imports the domain: a diagram names a handler (a user task's
``validator`` property, a service task's operator), and the registry resolves it
at deploy time (unknown names are validation errors) and at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TaskInput:
    """What a validator sees: the submitted fields and the task's data before them.

    ``connection`` is the command's own transaction, for reading domain rows (e.g. a
    customer's earlier complaints); validators must not write.
    """

    element_id: str
    submitted: Mapping[str, Any]
    task_data: Mapping[str, Any]
    now: datetime
    config: Mapping[str, Any]
    actor: str | None = None
    connection: Any = None


@dataclass(frozen=True)
class ServiceCall:
    """What a service operation sees: its evaluated parameters and the task's data.

    ``connection`` is the command's own transaction (a SQLAlchemy Connection): what
    an operation reads or writes there commits or rolls back with the command.
    ``instance_id`` is the instance the task belongs to.
    """

    element_id: str
    params: Mapping[str, Any]
    task_data: Mapping[str, Any]
    now: datetime
    config: Mapping[str, Any]
    connection: Any = None
    instance_id: int | None = None
    fired_due: datetime | None = None
    """The due instant of the clock timer whose firing led to this task (its nearest fired
    timer ancestor), so an operation recording a breach needs no span of its own."""
    fired_clock: str | None = None
    """The ``clock`` property of that timer, so the breach it records is named by the diagram."""
    clocks: Callable[[], Mapping[tuple[str, int], Any]] | None = None
    """The instance's clocks as its timers tell them at this instant, ``(clock, round) ->
    engine.clock_outcomes.ClockOutcome``, read on demand (e.g. closing: which were missed),
    so no diagram has to measure a deadline in a script for an operation to know it."""


@dataclass(frozen=True)
class Projection:
    """After every command, in its transaction: what a projection derives domain rows from.

    ``data`` is the instance's current data: the workflow's data once it ended, else
    the data where its tokens wait now (READY, WAITING and STARTED tasks of the
    top-level process, the most recently changed winning on shared keys).
    """

    connection: Any
    instance_id: int
    business_key: str | None
    status: str
    command: str
    actor: str
    now: datetime
    data: Mapping[str, Any]
    config: Mapping[str, Any]
    clocks: tuple[Any, ...] = ()
    """``engine.running_clocks.ClockReading`` of every clock timer of the instance."""
    elements: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """The properties of the instance's version's elements, by element id
    (``engine.element_properties``): what the domain reads of an element (e.g. ``stage``)."""


FieldErrors = dict[str, str]
Validator = Callable[[TaskInput], FieldErrors | None]
Operation = Callable[[ServiceCall], Any]
ProjectionHook = Callable[[Projection], None]
# Deploy-time check of the domain's own procedure.toml tables: (dotted key path, message) pairs.
ConfigCheck = Callable[[Mapping[str, Any]], list[tuple[str, str]]]
# Deploy-time words of a deadline timer's figure: (config, clock id, figure key) -> words,
# raising engine.timer_labels.LabelError when the figure cannot be shown.
TimerLabeller = Callable[[Mapping[str, Any], str, str], str]
# Delivers one outbox row of its kind after the command that wrote it committed
# (``engine.outbox.OutboxItem`` in; raising retries it, ``Undeliverable`` gives it up).
Delivery = Callable[[Any], None]


@dataclass
class HandlerRegistry:
    validators: dict[str, Validator] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    projections: list[ProjectionHook] = field(default_factory=list)
    config_checks: list[ConfigCheck] = field(default_factory=list)
    timer_labeller: TimerLabeller | None = None
    validator_fields: dict[str, frozenset[str]] = field(default_factory=dict)
    """The form fields each validator reads: validation refuses a form that lost one (issue 17)."""
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    """Outbox kinds and the functions delivering them (``engine.outbox``)."""

    def validator(self, name: str, fields: tuple[str, ...] = ()) -> Callable[[Validator], Validator]:
        """Register a user-task validator: it returns ``{field: message}`` or nothing.

        ``fields`` are the submitted fields it reads: a form edited without one of them would
        make the rule silently pass, so validation pins that to the form instead.
        """
        if fields:
            self.validator_fields[name] = frozenset(fields)
        return _register(self.validators, name, "validator")

    def operation(self, name: str) -> Callable[[Operation], Operation]:
        """Register a service-task operation: its return value becomes the task's result."""
        return _register(self.operations, name, "operation")

    def delivery(self, kind: str) -> Callable[[Delivery], Delivery]:
        """Register how follow-ups of ``kind`` are delivered after their command commits
        (``engine.outbox``): an operation or a ``record`` hook writes them with ``outbox.add``."""
        return _register(self.deliveries, kind, "delivery")

    def config_function(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a helper that reads the deployed version's config: ``factory(config) -> helper``.

        Bound once per version (``bound_functions``), so a running instance keeps the figures
        of the version it started on.
        """

        def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
            factory.binds_config = True  # type: ignore[attr-defined]
            return _register(self.functions, name, "function")(factory)

        return decorate

    def bound_functions(self, config: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
        """The expression helpers of one version: config-reading helpers bound to its config."""
        return {
            name: function(config) if getattr(function, "binds_config", False) else function
            for name, function in self.functions.items()
        }

    def projection(self, hook: ProjectionHook) -> ProjectionHook:
        """Register a hook that keeps domain rows in step with every command (same transaction)."""
        self.projections.append(hook)
        return hook

    def config_check(self, check: ConfigCheck) -> ConfigCheck:
        """Register a check of the domain's config tables, run at deploy before anything is stored."""
        if check not in self.config_checks:
            self.config_checks.append(check)
        return check

    def labeller(self, labeller: TimerLabeller) -> TimerLabeller:
        """Register the words of deadline timers' figures, written as their labels at deploy."""
        if self.timer_labeller is not None and self.timer_labeller is not labeller:
            raise ValueError("a timer labeller is registered already")
        self.timer_labeller = labeller
        return labeller

    def function(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a helper callable from diagram expressions (conditions, timers, scripts)."""
        return _register(self.functions, name, "function")

    def include(self, other: HandlerRegistry) -> None:
        """Add everything ``other`` registered (a module's own table); a name taken twice is an error."""
        for name, validator in other.validators.items():
            self.validator(name, tuple(other.validator_fields.get(name, ())))(validator)
        for name, operation in other.operations.items():
            self.operation(name)(operation)
        for name, function in other.functions.items():
            _register(self.functions, name, "function")(function)
        for kind, delivery in other.deliveries.items():
            self.delivery(kind)(delivery)
        for hook in other.projections:
            self.projection(hook)
        for check in other.config_checks:
            self.config_check(check)
        if other.timer_labeller is not None:
            self.labeller(other.timer_labeller)


def _register(table: dict[str, Any], name: str, kind: str) -> Callable[[Any], Any]:
    def decorate(function: Any) -> Any:
        if name in table and table[name] is not function:
            raise ValueError(f"{kind} {name!r} is registered twice")
        table[name] = function
        return function

    return decorate
