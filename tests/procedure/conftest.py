"""Fixtures of the procedure tests: an engine with the real handlers and the real bundle deployed."""

from __future__ import annotations

import pytest

from tasks.registry import REGISTRY
from tests.procedure.support import bundle


@pytest.fixture
def engine(make_engine):
    """A ProcessEngine on an empty database, the ``bpmn/`` bundle deployed, on the test clock."""
    engine = make_engine(REGISTRY)
    engine.deploy(bundle(), actor="process_owner")
    return engine
