"""Handlers and helpers the engine tests share (the engine itself knows no domain)."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.bundle import load_bundle
from engine.handlers import HandlerRegistry, ServiceCall, TaskInput

BUNDLES = Path(__file__).with_name("bundles")
VALID = BUNDLES / "valid"
PATHS = BUNDLES / "paths"  # a map calling a path, one nested call (the diagram viewer)
MAX_AMOUNT = 1_000_000


def engine_test_handlers(*, echo_fails: bool = False) -> HandlerRegistry:
    """The ``check_amount`` validator and ``echo`` operation the valid bundle names."""
    registry = HandlerRegistry()

    @registry.validator("check_amount")
    def check_amount(task: TaskInput) -> dict[str, str] | None:
        if task.submitted.get("amount", 0) > MAX_AMOUNT:
            return {"amount": f"amounts above {MAX_AMOUNT} need a contract, not a request"}
        return None

    @registry.operation("echo")
    def echo(call: ServiceCall) -> dict[str, str]:
        if echo_fails:
            raise RuntimeError("the notification service is down")
        return {"echoed": call.params["message"], "at": call.now.isoformat()}

    return registry


def valid_bundle():
    return load_bundle(VALID)


def edited_bundle(tmp_path: Path, file_name: str, old: str, new: str):
    """A copy of the valid bundle with one text replacement (which must match)."""
    target = tmp_path / "bundle"
    shutil.copytree(VALID, target)
    path = target / file_name
    text = path.read_text()
    assert old in text, f"{old!r} not in {file_name}"
    path.write_text(text.replace(old, new))
    return load_bundle(target)
