"""Validating, labelling and deploying a bundle, as a part of ``engine.service.ProcessEngine``."""

from __future__ import annotations

import tomllib

from engine import audit
from engine.bundle import Bundle
from engine.command_types import DeployOutcome
from engine.deployments import Runtime, bundle_config, store_deployment
from engine.expressions import ENGINE_FUNCTION_NAMES
from engine.store import Store
from engine.timer_labels import label_bundle
from engine.validation import CompiledBundle, compile_bundle


class DeployCommands:
    """The deployment commands of ``ProcessEngine``."""

    # ------------------------------------------------------------------ deployments

    def validate(self, bundle: Bundle) -> CompiledBundle:
        """Raises BundleInvalid listing every problem; stores nothing."""
        return compile_bundle(bundle, self.handlers, self._expression_names())

    def label_timers(self, bundle: Bundle) -> Bundle:
        """The bundle with its deadline timers labelled from its config, as far as it can be.

        Validation labels the same way (and reports what cannot be labelled); a draft is kept
        labelled so the owner sees in the modeler what will be deployed.
        """
        labeller = self.handlers.timer_labeller
        if labeller is None:
            return bundle
        try:
            config = bundle_config(bundle)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return bundle
        return label_bundle(bundle, config, labeller)[0]

    def deploy(self, bundle: Bundle, *, actor: str) -> DeployOutcome:
        compiled = self.validate(bundle)
        now = self.clock.now()
        with self.writer() as session, session.begin():
            deployment, created = store_deployment(session, compiled, actor=actor, now=now)
            if created:
                audit.append(
                    Store(session.connection()),
                    at=now,
                    actor=actor,
                    command="deploy",
                    instance_id=None,
                    detail={"version": deployment.version, "content_hash": deployment.content_hash},
                )
            return DeployOutcome(deployment.version, deployment.content_hash, created)

    def runtime(self, deployment_id: int) -> Runtime:
        return self._runtimes.get(self.reader, deployment_id)

    def _expression_names(self) -> tuple[str, ...]:
        return (*ENGINE_FUNCTION_NAMES, "timedelta", *self.handlers.functions)
