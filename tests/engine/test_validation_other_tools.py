"""Validation of diagrams drawn elsewhere: unsupported elements and lanes missing from [lanes].

Both are engine checks (engine/validation/), so the CLI, the modeler and uploads report
them the same way, naming the element and saying what to do instead.
"""

from __future__ import annotations

import pytest

from engine.bundle import bundle_from_files
from engine.validation import BundleInvalid, compile_bundle
from tests.engine.support import engine_test_handlers, valid_bundle


def problems_of(files: dict[str, bytes]) -> list:
    with pytest.raises(BundleInvalid) as refused:
        compile_bundle(bundle_from_files(files), engine_test_handlers())
    return refused.value.problems


def edited(path: str, old: str, new: str) -> dict[str, bytes]:
    files = dict(valid_bundle().files)
    text = files[path].decode()
    assert old in text, f"{old!r} not in {path}"
    files[path] = text.replace(old, new).encode()
    return files


def test_the_valid_bundle_maps_every_lane_or_has_no_lanes_table():
    compile_bundle(valid_bundle(), engine_test_handlers())  # no [lanes]: a lane's name is its group


def test_a_lane_missing_from_the_lanes_table_is_named():
    files = dict(valid_bundle().files)
    files["procedure.toml"] = files["procedure.toml"] + b'\n[lanes]\nclerk = "clerks"\n'
    [problem] = problems_of(files)
    assert problem.file == "main.bpmn" and problem.element_id == "lane_manager" and problem.line
    assert "lane 'manager' is not in [lanes] of procedure.toml" in problem.message
    assert "known lanes: clerk" in problem.message


def test_a_complex_gateway_is_named_with_what_to_use_instead():
    files = edited("main.bpmn", "exclusiveGateway", "complexGateway")
    found = [p for p in problems_of(files) if p.element_id == "gateway_approval"]
    assert found and found[0].message.startswith(
        "complex gateway is not supported by this engine: use an exclusive"
    )
    assert not any("no support implemented" in p.message for p in found)  # SpiffWorkflow's vaguer message
