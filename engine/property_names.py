"""The names of the ``spiffworkflow:property`` entries the product reads, in one place.

Validation, the runtime (human tasks, clocks), the domain and the modeler (which gets them
from the server as JSON, ``/modeler/settings``) all spell a property through these
constants, so renaming one is one edit and a misspelling is an import error.
"""

from __future__ import annotations

# Human tasks (engine/human_tasks.py): the form, its UI hints, the validator, who is offered it.
FORM = "formJsonSchemaFilename"
UI_FORM = "formUiSchemaFilename"
VALIDATOR = "validator"
PRIORITY = "priority"
CANDIDATE_GROUP = "candidateGroup"
ASSIGNEE = "assignee"

# Deadline timers (issue 10 convention): the clock id (rule id) and the procedure.toml figure.
CLOCK = "clock"
FIGURE = "figure"
# On a clock timer: the data variable holding the clock's start instant, when the clock starts
# before its timer is armed (R4 at the department's valid reply); without it the arming starts it.
STARTS_AT = "starts_at"
# On a task: completing it stops the named clock.
STOPS_CLOCK = "stops_clock"
# On a user task: the stage the case is in while the task is open (shown in lists).
STAGE = "stage"

# Task properties holding an expression evaluated on the task data when the task opens.
EXPRESSION_PROPERTIES = {
    PRIORITY: "the priority expression",
    CANDIDATE_GROUP: "the candidate group expression",
    ASSIGNEE: "the assignee expression",
}

# The properties the modeler edits with its own controls (others are shown as free text).
MODELER_EDITED = (FORM, VALIDATOR, CLOCK, FIGURE)


def as_json() -> dict[str, str | list[str]]:
    """The names for the modeler's script, keyed by the constant's name."""
    names: dict[str, str | list[str]] = {
        name: value for name, value in globals().items() if name.isupper() and isinstance(value, str)
    }
    names["MODELER_EDITED"] = list(MODELER_EDITED)
    return names
