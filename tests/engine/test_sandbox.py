"""Diagram code from a version deployed before the sandbox existed still cannot escape it.

An older release validated a bundle by compiling its expressions and nothing more, so
versions stored then may hold anything. ``deploy_unvalidated`` stores a bundle as such a
release did (parsed by SpiffWorkflow, not checked by ``engine.validation``); the real
``ScriptEngine`` then runs it. Every escape must fail as a task error naming its element
before doing anything: each one would create a file, and the file must not exist.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine import sandbox
from engine.calendar import calendars_from_config
from engine.deployments import bundle_config, store_deployment
from engine.errors import ProcessError
from engine.sandbox_limits import MAX_SECONDS, SandboxError
from engine.validation import BundleInvalid, CompiledBundle
from tests.engine.support import edited_bundle, engine_test_handlers, valid_bundle

SCRIPT = "needs_approval = amount &gt; 100"  # script_classify, runs when task_enter is completed
TIMER = '"PT2H"'  # timer_approve_deadline, evaluated when task_approve opens (amount > 100)
CONDITION = ">needs_approval</bpmn:conditionExpression>"  # flow_needs_approval, at gateway_approval
HELPERS = ["now", "due_in", "working_due", "working_time_between", "parse_instant", "twice"]


def handlers():
    registry = engine_test_handlers()

    @registry.function("twice")
    def twice(value):
        """An extra helper, as the tasks layer registers ``deadline_outcome``."""
        return 2 * value

    return registry


def deploy_unvalidated(engine, bundle) -> int:
    """Store ``bundle`` as a version the way a release before the sandbox did: parsed, not checked."""
    parser = SpiffBpmnParser()
    for name, data in bundle.bpmn_files.items():
        parser.add_bpmn_str(data, name)
    specs = {}
    for process_id in parser.get_process_ids():
        specs[process_id] = parser.get_spec(process_id)
        specs.update(parser.get_subprocess_specs(process_id))
    config = bundle_config(bundle)
    compiled = CompiledBundle(
        bundle=bundle,
        config=config,
        main_process=config["main_process"],
        specs=specs,
        forms={},
        calendars=calendars_from_config(config),
    )
    with engine.writer() as session, session.begin():
        deployment, _created = store_deployment(
            session, compiled, actor="old release", now=engine.clock.now()
        )
        return deployment.version


def script_escapes(marker: Path):
    """(id, code) pairs; each would create ``marker`` if it escaped."""
    opened = f'["open"]("{marker}", "w")'
    for helper in HELPERS:
        yield f"{helper}.__globals__", f'{helper}.__globals__["__builtins__"]{opened}'
    yield (
        "timedelta-subclasses",
        '[c for c in timedelta.__mro__[-1].__subclasses__() if c.__name__ == "catch_warnings"][0]()'
        f"._module.__builtins__{opened}",
    )
    yield "__import__", f'__import__("os").system("touch {marker}")'
    yield "open", f'open("{marker}", "w")'
    yield "getattr", f'getattr(due_in, "__glob" + "als__")["__builtins__"]{opened}'
    yield (
        "str.format",
        f'"{{0.__globals__[__builtins__]}}".format(due_in) and due_in.__globals__["__builtins__"]{opened}',
    )
    yield "f-string", f"f\"{{due_in.__globals__['__builtins__']['open']('{marker}', 'w')}}\""
    yield (
        "generator-frame",
        f'(x for x in [1]).gi_frame.f_globals["due_in"].__globals__["__builtins__"]{opened}',
    )
    yield "lambda", f'(lambda: 0).__globals__["due_in"].__globals__["__builtins__"]{opened}'


def escape_ids(marker: Path) -> list[str]:
    return [name for name, _code in script_escapes(marker)]


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "escaped"


@pytest.fixture
def engine(make_engine):
    engine = make_engine(handlers())
    engine.deploy(valid_bundle(), actor="admin")  # v1: the valid bundle, as the sandbox accepts it
    return engine


def enter(engine, amount: int):
    """Start on the newest version and complete the first task: the script, gateway and timer run."""
    instance_id = engine.start(actor="alice").instance_id
    [task] = engine.open_tasks(instance_id)
    return instance_id, lambda: engine.complete_task(
        task.id, actor="alice", data={"amount": amount, "description": "pens"}
    )


@pytest.mark.parametrize("name", escape_ids(Path("m")))
def test_each_escape_in_an_old_version_is_a_task_error_and_runs_nothing(engine, tmp_path, marker, name):
    code = dict(script_escapes(marker))[name]
    bundle = edited_bundle(tmp_path, "main.bpmn", SCRIPT, "needs_approval = " + code.replace("&", "&amp;"))
    with pytest.raises(BundleInvalid):  # what the sandbox's validation would say today
        engine.validate(bundle)
    assert deploy_unvalidated(engine, bundle) == 2
    instance_id, complete = enter(engine, 50)
    with pytest.raises(ProcessError, match="stopped by the sandbox") as refused:
        complete()
    assert refused.value.element_id == "script_classify"
    assert not marker.exists()
    [still_open] = engine.open_tasks(instance_id)  # nothing was saved: the task is still open
    assert still_open.element_id == "task_enter"


def test_an_escaping_timer_expression_is_a_task_error_naming_the_timer(engine, tmp_path, marker):
    """The attack as it happened (L1): the timer expression reached os.system through due_in."""
    attack = f'due_in.__globals__["__builtins__"]["__import__"]("os").system("touch {marker}")'
    deploy_unvalidated(engine, edited_bundle(tmp_path, "main.bpmn", TIMER, attack))
    _instance_id, complete = enter(engine, 5_000)
    with pytest.raises(ProcessError, match="reads '__globals__'") as refused:
        complete()
    assert refused.value.element_id == "timer_approve_deadline"
    assert not marker.exists()


def test_an_escaping_condition_is_a_task_error_naming_the_gateway(engine, tmp_path, marker):
    attack = f'due_in.__globals__["__builtins__"]["open"]("{marker}", "w")'
    deploy_unvalidated(
        engine, edited_bundle(tmp_path, "main.bpmn", CONDITION, f">{attack}</bpmn:conditionExpression>")
    )
    _instance_id, complete = enter(engine, 5_000)
    with pytest.raises(ProcessError, match="reads '__globals__'") as refused:
        complete()
    assert refused.value.element_id == "gateway_approval"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("[x for x in range(10**5) for y in range(10**5)]", "loop steps|longer than"),
        ("sorted(list(range(10**5)), key=list(range(10**5)).count)", "longer than"),
        ("[0] * (amount * 10**6)", "more than the limit of 100,000"),
        (
            "[]\nfor i in range(10**5):\n    needs_approval.append(str(i) * 20000)",
            "more than 256 MiB of memory|longer than",
        ),
        ("2 ** (amount * 10**6)", "bits"),
        ("0\nwhile True:\n    needs_approval = 1", "while loop"),
    ],
    ids=["nested-loops", "sort-key", "huge-list", "memory", "huge-number", "while"],
)
def test_endless_and_huge_code_ends_within_the_time_limit_as_a_task_error(engine, tmp_path, script, expected):
    deploy_unvalidated(engine, edited_bundle(tmp_path, "main.bpmn", SCRIPT, f"needs_approval = {script}"))
    instance_id, complete = enter(engine, 5_000)
    began = time.monotonic()
    with pytest.raises(ProcessError, match=expected) as refused:
        complete()
    assert time.monotonic() - began < MAX_SECONDS + 5
    assert refused.value.element_id == "script_classify"
    # The node carries on: the same engine runs v1's version of the procedure to its end.
    other = engine.start(actor="alice", version=1).instance_id
    [task] = engine.open_tasks(other)
    assert (
        engine.complete_task(task.id, actor="alice", data={"amount": 50, "description": "pens"}).status
        == "completed"
    )
    assert [task.element_id for task in engine.open_tasks(instance_id)] == ["task_enter"]


def test_attribute_reads_are_checked_by_type_at_run_time(engine):
    """Validation refuses 'gi_frame' by name; at run time only listed types have readable attributes."""
    runtime = engine.runtime(1)
    environment = runtime.script_engine.environment
    frame = sys._getframe()
    for code in ("value.clear()", "value.count(1)"):
        with pytest.raises(SandboxError, match="of a frame value may not be read"):
            environment.evaluate(code, {"value": frame})
    assert environment.evaluate("value.count(1) + len(value)", {"value": [1, 1, 2]}) == 5
    assert environment.evaluate('due_in("PT2H", now()).startswith(now().isoformat()[:4])', {}) is True


def test_ordinary_code_still_runs(engine):
    """The valid bundle's script, condition, priority, timer and service parameter, as before."""
    instance_id, complete = enter(engine, 5_000)
    complete()
    [approve] = engine.open_tasks(instance_id)
    assert (approve.element_id, approve.priority) == ("task_approve", 10)
    assert approve.due_at is not None
    data = engine.instance_data(instance_id)
    assert data["needs_approval"] is True and data["route"] == "manager"
    assert sandbox.evaluate('", ".join(str(n) for n in range(3))', {}) == "0, 1, 2"
    assert sandbox.evaluate('f"{x:>4}|{y!r}"', {"x": 7, "y": "a"}) == "   7|'a'"
