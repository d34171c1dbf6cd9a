"""The app's process engine and its default version: the one way web/ reaches the engine.

``create_app`` installs the engine as the app's extension; pages, the API and the
schedulers ask for it here instead of each reading ``app.extensions`` or the engine's
session internals (issue 15), so there is one place to change how it is provided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from engine.service import ProcessEngine

if TYPE_CHECKING:
    from engine.store import DeploymentRow

EXTENSION = "process_engine"


def install(app: Flask, engine: ProcessEngine) -> None:
    app.extensions[EXTENSION] = engine


def engine_of(app: Flask) -> ProcessEngine:
    return app.extensions[EXTENSION]


def installed_engine() -> ProcessEngine | None:
    """The current app's engine, or None in an app made without one (a bare app context)."""
    return current_app.extensions.get(EXTENSION)


def current_engine() -> ProcessEngine:
    """The engine of the app handling the current request (or app context)."""
    return engine_of(current_app)


def default_deployment() -> DeploymentRow | None:
    """The version new complaints start on; None while nothing is deployed."""
    return current_engine().default_deployment()


def default_config() -> Mapping[str, Any]:
    """The procedure.toml of the version new complaints start on ({} while nothing is deployed)."""
    engine = current_engine()
    deployment = engine.default_deployment()
    return {} if deployment is None else engine.runtime(deployment.id).config
