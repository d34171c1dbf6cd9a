"""The engine's migration codes (blockers, reasons, plan problems) in the reader's language.

The engine returns codes and element names only; these sentences are what the admin reads.
"""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext

from engine.migration_plan import Blocker

KINDS = {
    "task": lazy_gettext("task"),
    "timer": lazy_gettext("timer"),
    "subprocess": lazy_gettext("subprocess"),
    "event": lazy_gettext("event"),
    "gateway": lazy_gettext("gateway"),
    "element": lazy_gettext("element"),
}


def kind_word(kind: str) -> str:
    return str(KINDS.get(kind, KINDS["element"]))


def blocker_sentence(blocker: Blocker) -> str:
    words = {
        "kind": kind_word(blocker.element_kind),
        "name": blocker.element_name,
        "version": blocker.version,
    }
    if blocker.code == "moved_into_call":
        return gettext(
            "the %(kind)s '%(name)s' (%(element_id)s) moved into the call activity %(call)s in v%(version)s",
            element_id=blocker.element_id,
            call=blocker.detail,
            **words,
        )
    if blocker.code == "moved_into_subprocess":
        return gettext(
            "the %(kind)s '%(name)s' (%(element_id)s) moved into the subprocess %(call)s in v%(version)s",
            element_id=blocker.element_id,
            call=blocker.detail,
            **words,
        )
    if blocker.code == "open_missing":
        return gettext("the %(kind)s '%(name)s' is open and does not exist in v%(version)s", **words)
    if blocker.code == "done_missing":
        return gettext(
            "the %(kind)s '%(name)s' was already done and does not exist in v%(version)s; map it", **words
        )
    if blocker.code == "process_missing":
        return gettext("the process '%(name)s' does not exist in v%(version)s", **words)
    if blocker.code == "automatic":
        return gettext("the %(kind)s '%(name)s' would become an automatic step in v%(version)s", **words)
    return gettext(
        "the %(kind)s '%(name)s' cannot be moved to v%(version)s: %(detail)s", detail=blocker.detail, **words
    )


def reason_sentence(code: str | None) -> str:
    return {
        "stale": gettext("another command changed it meanwhile; run again"),
        "failed": gettext("failed, nothing changed"),
        "moved_again": gettext("it was moved to another version since; revert that move first"),
        "not_running": gettext("it is not running any more"),
        "changed_since": gettext(
            "it changed after the migration (a task was completed or claimed, or a timer fired)"
        ),
    }.get(code or "", code or "")


def plan_problem_sentence(code: str) -> str:
    return {
        "unknown_source": gettext("no such element in the source version"),
        "unknown_target": gettext("no such element in the target version"),
        "kind_mismatch": gettext("the target is another kind of element"),
        "target_taken": gettext("another element already goes there"),
    }.get(code, code)
