"""The diagrams of a version and where an instance is on them (engine.diagram_index, engine.instance_path).

The two-file bundle ``bundles/paths``: ``map.bpmn`` draws the map (``call_path`` calls
``path_process``, then ``call_check`` calls ``inner_process``); ``path.bpmn`` draws both
``path_process`` (its ``call_inner`` calls ``inner_process`` too: a nested call) and
``inner_process``, each on its own BPMNDiagram. Instances run on the real engine.
"""

from __future__ import annotations

import pytest

from engine.bundle import load_bundle
from engine.diagram_index import DiagramIndexError, index_bundle
from engine.instance_path import instance_path
from tests.engine.support import PATHS, VALID


@pytest.fixture
def index():
    return index_bundle(load_bundle(PATHS).bpmn_files, "map_process")


def test_the_diagrams_are_listed_map_first_then_in_the_order_the_map_calls_them(index):
    listed = [(d.process_id, d.file, d.diagram_id, d.name) for d in index.diagrams]
    assert listed == [
        ("map_process", "map.bpmn", "diagram_map", "Map of the request"),
        ("path_process", "path.bpmn", "diagram_path", "The path"),
        ("inner_process", "path.bpmn", "diagram_inner", "The inner check"),
    ]
    assert set(index.files) == {"map.bpmn", "path.bpmn"}
    assert 'id="diagram_inner"' in index.files["path.bpmn"]


def test_every_element_maps_to_the_process_whose_diagram_draws_it(index):
    assert index.process_of["call_path"] == "map_process"
    assert index.process_of["flow_receive_path"] == "map_process"
    assert index.process_of["task_handle"] == "path_process"
    assert index.process_of["task_inner"] == "inner_process"
    assert "participant_map" not in index.process_of  # a pool is no element of the process


def test_callers_and_call_chains_to_the_map_include_the_nested_call(index):
    assert [s.element_id for s in index.callers["inner_process"]] == ["call_check", "call_inner"]
    assert index.calls["call_inner"].called == "inner_process"
    assert index.calls["call_inner"].caller == "path_process"
    assert index.chains("map_process") == [()]
    assert index.chains("path_process") == [("call_path",)]
    assert index.chains("inner_process") == [("call_check",), ("call_path", "call_inner")]


def test_a_flat_bundle_is_one_diagram_with_its_one_call(tmp_path):
    flat = index_bundle(load_bundle(VALID).bpmn_files, "approval_process")
    assert [d.process_id for d in flat.diagrams] == ["approval_process", "archive_process"]
    assert flat.diagrams[0].diagram_id is not None
    assert flat.chains("archive_process") == [("call_archive",)]


def test_a_missing_main_process_or_bad_xml_is_named():
    files = load_bundle(PATHS).bpmn_files
    with pytest.raises(DiagramIndexError, match="main process 'nowhere'"):
        index_bundle(files, "nowhere")
    with pytest.raises(DiagramIndexError, match="broken.bpmn: not well-formed"):
        index_bundle({**files, "broken.bpmn": b"<bpmn:definitions"}, "map_process")
    with pytest.raises(DiagramIndexError, match="'path_process' is also in path.bpmn"):
        index_bundle({**files, "twice.bpmn": files["path.bpmn"]}, "map_process")


# --------------------------------------------------------------------------- running instances


@pytest.fixture
def engine(make_engine):
    engine = make_engine()
    engine.deploy(load_bundle(PATHS), actor="admin")
    return engine


def _where(engine, index, instance_id, flagged=()):
    instance = engine.instance(instance_id)
    workflow = engine.runtime(instance.deployment_id).load_workflow(instance.state, instance.process_id)
    return instance_path(workflow, index, flagged)


def _complete_open(engine, instance_id):
    [task] = engine.open_tasks(instance_id)
    engine.complete_task(task.id, actor="clerk", data={})
    return task.element_id


def test_parked_in_the_path_the_map_highlights_the_call_and_the_path_its_task(engine, index):
    instance_id = engine.start(actor="clerk").instance_id
    assert _complete_open(engine, instance_id) == "task_receive"
    [handle] = engine.open_tasks(instance_id)
    where = _where(engine, index, instance_id, flagged=[handle.id])
    top, path = where.scopes[()], where.scopes[("call_path",)]
    assert top.process_id == "map_process" and path.process_id == "path_process"
    assert "call_path" in top.current and "task_receive" in top.completed
    assert top.focus == {"call_path"} and top.flagged == {"call_path"}
    assert path.focus == {"task_handle"} and path.flagged == {"task_handle"}
    assert "path_start" in path.completed
    assert where.current_path == ("call_path",)
    assert where.as_dict()["current_path"] == ["call_path"]


def test_nested_call_and_the_same_process_called_from_the_map_keep_separate_marks(engine, index):
    instance_id = engine.start(actor="clerk").instance_id
    _complete_open(engine, instance_id)  # task_receive
    _complete_open(engine, instance_id)  # task_handle: now inside call_path -> call_inner
    where = _where(engine, index, instance_id)
    assert where.current_path == ("call_path", "call_inner")
    nested = where.scopes[("call_path", "call_inner")]
    assert nested.process_id == "inner_process" and nested.focus == {"task_inner"}
    assert where.scopes[("call_path",)].focus == {"call_inner"}
    assert where.scopes[()].focus == {"call_path"}

    _complete_open(engine, instance_id)  # task_inner via the path; the map goes on to call_check
    where = _where(engine, index, instance_id)
    assert where.current_path == ("call_check",)
    assert where.scopes[("call_check",)].focus == {"task_inner"}
    assert "task_inner" in where.scopes[("call_path", "call_inner")].completed
    assert where.scopes[()].focus == {"call_check"}
    assert "call_path" in where.scopes[()].completed
