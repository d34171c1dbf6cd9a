"""The domain's handler registry is built by a function (issue 15), not filled by imports.

Every handler the diagrams name is in it, a second build is a separate registry with the
same names, and a name two modules both register is refused rather than silently replaced.
"""

import pytest

from engine.handlers import HandlerRegistry
from tasks import contacts, operations, records, timer_figures, validators, warning_sweep
from tasks.registry import REGISTRY, build_registry


def test_build_registry_gathers_every_module_and_builds_afresh():
    built = build_registry()
    assert built is not REGISTRY
    assert set(built.validators) == set(validators.HANDLERS.validators) == set(REGISTRY.validators)
    assert "complaint_record" in built.validators  # C1-C5
    assert "register_complaint" in built.operations  # C4, C5, H1
    assert {"deadline_span", "deadline_outcome"} <= set(built.functions)
    assert built.projections == [records.project_complaint, contacts.project_contact]
    assert built.config_checks == [warning_sweep.config_problems]
    assert built.timer_labeller is timer_figures.figure_words
    assert built.validator_fields["dispatch_order"] == frozenset({"department"})  # issue 17


def test_a_name_registered_by_two_modules_is_refused():
    other = HandlerRegistry()
    other.operation("register_complaint")(lambda call: None)
    registry = build_registry()
    with pytest.raises(ValueError, match="operation 'register_complaint' is registered twice"):
        registry.include(other)
    registry.include(operations.HANDLERS)  # the same functions again: harmless
