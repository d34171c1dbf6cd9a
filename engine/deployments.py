"""Storing validated bundles as immutable versions, and the per-version runtime cache.

A version's specs are serialized once at deploy time; each node restores them once
and keeps them (with the version's script engine, forms and calendars) in memory.
"""

from __future__ import annotations

import json
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from engine.bundle import Bundle, bundle_from_zip
from engine.calendar import WorkingCalendar, calendars_from_config
from engine.clock_catalogue import ClockCatalogue, build_catalogue
from engine.clock_outcomes import clock_outcomes
from engine.element_properties import element_properties
from engine.errors import NotFound
from engine.expressions import expression_globals
from engine.forms import FormChecker
from engine.handlers import HandlerRegistry
from engine.models import Deployment
from engine.running_clocks import read_clocks
from engine.spiff import ScriptEngine
from engine.spiff_state import load_state, spec_from_dict, spec_to_dict
from engine.validation import CompiledBundle


def store_deployment(
    session: Session, compiled: CompiledBundle, *, actor: str, now: datetime
) -> tuple[Deployment, bool]:
    """Store the bundle as a new version, or return the version that has this content already."""
    content_hash = compiled.bundle.content_hash
    existing = session.scalar(select(Deployment).where(Deployment.content_hash == content_hash))
    if existing is not None:
        return existing, False
    latest = session.scalar(select(func.max(Deployment.version))) or 0
    specs = {process_id: spec_to_dict(spec) for process_id, spec in compiled.specs.items()}
    deployment = Deployment(
        version=latest + 1,
        content_hash=content_hash,
        main_process=compiled.main_process,
        bundle_zip=compiled.bundle.to_zip(),
        specs_json=json.dumps(specs, separators=(",", ":")),
        deployed_at=now,
        deployed_by=actor,
    )
    session.add(deployment)
    session.flush()
    return deployment, True


def latest_deployment(session: Session) -> Deployment | None:
    return session.scalar(select(Deployment).order_by(Deployment.version.desc()).limit(1))


@dataclass
class Runtime:
    """Everything needed to run instances of one deployed version."""

    deployment_id: int
    version: int
    main_process: str
    specs: dict[str, Any]
    config: dict[str, Any]
    forms: dict[str, dict[str, Any]]
    calendars: dict[str, WorkingCalendar]
    script_engine: ScriptEngine
    _form_checkers: dict[str, FormChecker] = field(default_factory=dict, repr=False)

    def spec(self, process_id: str) -> Any:
        try:
            return self.specs[process_id]
        except KeyError:
            raise NotFound(f"version {self.version} has no process {process_id!r}") from None

    @cached_property
    def element_properties(self) -> dict[str, dict[str, str]]:
        """The properties of this version's elements, by element id (built once)."""
        return element_properties(self.specs)

    @cached_property
    def clock_catalogue(self) -> ClockCatalogue:
        """The clocks of this version's timers (built once: versions are immutable)."""
        return build_catalogue(self.specs)

    def subprocess_specs(self, process_id: str) -> dict[str, Any]:
        return {name: spec for name, spec in self.specs.items() if name != process_id}

    def load_workflow(self, state: str, process_id: str) -> Any:
        """A saved instance state as a running workflow on this version's specs."""
        return load_state(state, self.spec(process_id), self.subprocess_specs(process_id), self.script_engine)

    def form_checker(self, name: str) -> FormChecker:
        """The compiled checker of ``forms/<name>`` (validation guarantees it exists)."""
        checker = self._form_checkers.get(name)
        if checker is None:
            checker = self._form_checkers[name] = FormChecker(self.forms[name])
        return checker

    def candidate_group(self, lane: str | None) -> str | None:
        """The group that may take a lane's tasks: ``[lanes]`` in the config, else the lane name."""
        if lane is None:
            return None
        return self.config.get("lanes", {}).get(lane, lane)


class RuntimeCache:
    """Per-node cache of restored versions; versions are immutable, so it never goes stale."""

    def __init__(self, handlers: HandlerRegistry) -> None:
        self._handlers = handlers
        self._runtimes: dict[int, Runtime] = {}
        self._lock = threading.Lock()

    def get(self, sessions: sessionmaker, deployment_id: int) -> Runtime:
        runtime = self._runtimes.get(deployment_id)
        if runtime is not None:
            return runtime
        with sessions() as session:
            deployment = session.get(Deployment, deployment_id)
            if deployment is None:
                raise NotFound(f"no deployment with id {deployment_id}")
            runtime = self._build(deployment)
        with self._lock:
            return self._runtimes.setdefault(deployment_id, runtime)

    def _build(self, deployment: Deployment) -> Runtime:
        bundle = bundle_from_zip(deployment.bundle_zip)
        config = bundle_config(bundle)
        calendars = calendars_from_config(config)
        specs = {
            process_id: spec_from_dict(spec) for process_id, spec in json.loads(deployment.specs_json).items()
        }
        helpers = expression_globals(calendars, self._handlers.bound_functions(config))
        engine = ScriptEngine(helpers, self._handlers, config)
        runtime = Runtime(
            deployment_id=deployment.id,
            version=deployment.version,
            main_process=deployment.main_process,
            specs=specs,
            config=config,
            forms={name: json.loads(data) for name, data in bundle.form_files.items()},
            calendars=calendars,
            script_engine=engine,
        )
        engine.clock_reader = lambda workflow, now: clock_outcomes(
            read_clocks(workflow, runtime.clock_catalogue, now)
        )
        return runtime


def bundle_config(bundle: Bundle) -> dict[str, Any]:
    """The bundle's procedure config (``procedure.toml``), parsed; empty when it has none."""
    data = bundle.config_bytes
    return tomllib.loads(data.decode()) if data else {}

