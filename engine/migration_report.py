"""What a dry run, an apply or a revert did, per instance: data for the CLI (English) and the web."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.migration_plan import Blocker

# Why an instance was skipped or a revert refused: codes with the CLI's English.
REASON_TEXT = {
    "stale": "another command changed it meanwhile; run again",
    "failed": "failed, nothing changed",
    "moved_again": "it was moved to another version since; revert that move first",
    "not_running": "it is not running any more",
    "changed_since": "it changed after the migration (a task was completed or claimed, or a timer fired)",
}


@dataclass(frozen=True)
class InstanceReport:
    instance_id: int
    business_key: str | None
    outcome: str
    """dry run: movable | blocked; apply: migrated | blocked | skipped; revert: reverted | refused."""
    reason_code: str | None = None
    blockers: tuple[Blocker, ...] = ()
    notes: tuple[str, ...] = ()
    detail: str = ""

    @property
    def movable(self) -> bool:
        return self.outcome in ("movable", "migrated", "reverted")

    @property
    def reason(self) -> str | None:
        """In English, for the CLI and logs."""
        if self.reason_code:
            text = REASON_TEXT.get(self.reason_code, self.reason_code)
            return f"{text}: {self.detail}" if self.detail else text
        if self.blockers:
            return "; ".join(str(blocker) for blocker in self.blockers)
        return None

    def lines(self) -> list[str]:
        key = f" [{self.business_key}]" if self.business_key else ""
        head = f"instance {self.instance_id}{key}: {self.outcome}"
        if self.reason_code:
            head += f": {self.reason}"
        return [
            head,
            *(
                f"  blocked: {blocker} ({blocker.process_id}/{blocker.element_id})"
                for blocker in self.blockers
            ),
            *(f"  note: {n}" for n in self.notes),
        ]


@dataclass
class MigrationReport:
    mode: str  # "dry-run" | "apply" | "revert"
    from_version: int
    to_version: int
    instances: list[InstanceReport] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.instances:
            counts[report.outcome] = counts.get(report.outcome, 0) + 1
        return counts

    def lines(self) -> list[str]:
        lines = [line for report in self.instances for line in report.lines()]
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts().items()))
        lines.append(
            f"{self.mode} v{self.from_version} -> v{self.to_version}: {summary or 'no running instances'}"
        )
        return lines
