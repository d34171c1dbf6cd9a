"""L7, issue 10: a clock's readable name is drawn on its timer (property ``title``), not
spelled in Python: every clock the diagrams draw is named, in the reader's language, and
renaming it in the diagram and deploying renames it on every page."""

from __future__ import annotations

import shutil

from flask_babel import force_locale

from engine.bundle import load_bundle
from tests.web.support import BPMN
from web.clock_names import clock_name


def test_l7_every_drawn_clock_is_named_from_its_timer_in_the_readers_language(procedure_app):
    engine = procedure_app.extensions["process_engine"]
    with procedure_app.test_request_context():
        catalogue_clocks = set(engine.runtime(1).clock_catalogue.clocks())
        assert {"L1", "L2", "L3", "L4", "R4", "L6", "T7", "T1", "E3", "E4", "R3"} <= catalogue_clocks
        for clock in catalogue_clocks:
            assert clock_name(clock) != clock, f"clock {clock} has no title on its timer"
        assert clock_name("L2") == "L2 Review and dispatch"
        assert clock_name("L6") == "L6 Call-back window (R6)"
        assert clock_name("X9") == "X9"  # a clock no timer names shows as its id
    with procedure_app.test_request_context(), force_locale("zh"):
        assert clock_name("L4") == "L4 部门工单处理"
        assert clock_name("T7") == "T7 向转办单位报送（E4）"


def test_l7_renaming_a_clock_on_its_timer_and_deploying_renames_it(procedure_app, tmp_path):
    engine = procedure_app.extensions["process_engine"]
    bundle = tmp_path / "bundle"
    shutil.copytree(BPMN, bundle)
    handling = bundle / "handling.bpmn"
    text = handling.read_text(encoding="utf-8")
    assert 'value="部门工单处理 Department handling"' in text
    handling.write_text(
        text.replace("部门工单处理 Department handling", "部门处理 Work order handling"), "utf-8"
    )
    engine.deploy(load_bundle(bundle), actor="owner")
    with procedure_app.test_request_context():
        assert clock_name("L4") == "L4 Work order handling"
