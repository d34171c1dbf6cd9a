"""Who may see what: one answer for the pages and the API.

A complaint (an instance: its page, diagram, appeal feedback form, evidence files):

- supervisors, process owners and admins see every complaint;
- a person sees the complaints they worked on: started, or claimed or completed one of
  its tasks (by their own username);
- a group member sees the complaints with an open task of that group: the work in front
  of the group, not everything it ever touched (intake records every complaint, and
  does not thereby see them all);
- the escalation desk sees the escalated complaints (T6: it tracks them end to end).

System actors (the website form, the timers) are not people: a user whose username is
one of their names gains nothing from the commands recorded under it.

A task is seen by whoever may act on it (its assignee; while unclaimed, the members of
its candidate group) and by supervisors, who assign tasks. The overview lists the same
tasks and the complaints a person may see.

Each rule is written once as a SQL condition, so lists filter in the database and a
single check asks the same question about one row.

The rest of "may this person ...?" lives here too (issue 15), asked by the pages, the API
and the templates (``may`` in every template) alike:

- act on a task: the engine's rule (its candidate group, and unclaimed or claimed by them),
  which the pages and the API hand the engine as ``acting_groups``;
- list a group's tasks: members of the group only;
- files (evidence): whoever may see their complaint;
- start a complaint: intake, and the escalation desk for outside units' transfers (T5);
  record one in a single API call: intake (the call completes intake's record task);
- look up a caller's complaints while recording (T2/T3): intake;
- assign a task to a colleague: supervisors;
- the escalation board (T6): the desk, and those who see every complaint;
- reports: supervisors and admins; the modeler: process owners and admins; deploying,
  versions and accounts: admins;
- a notification: its recipient.
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import Flask
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from engine.models import HumanTask, Instance
from engine.service import SYSTEM_ACTOR
from tasks import records
from tasks.validators import ESCALATION_DESK
from web.public import SUBMITTED_VIA

OVERSEER_ROLES = ("supervisor", "process_owner", "admin")
TASK_OVERSEER_ROLES = ("supervisor",)
REPORT_READER_ROLES = ("supervisor", "admin")
EDITOR_ROLES = ("process_owner", "admin")
ADMIN_ROLES = ("admin",)
INTAKE_GROUP = "intake"
SYSTEM_ACTORS = frozenset({SYSTEM_ACTOR, SUBMITTED_VIA})  # never a person, whoever takes the name


class Viewer(Protocol):
    """The signed-in user or the API token's user (web.auth.SessionUser)."""

    @property
    def username(self) -> str: ...

    @property
    def groups(self) -> frozenset[str]: ...

    def has_role(self, *roles: str) -> bool: ...


def person(viewer: Viewer) -> str | None:
    """The viewer's username as a person who acts, or None for a system actor's name."""
    return None if viewer.username in SYSTEM_ACTORS else viewer.username


# ---------------------------------------------------------------------- complaints


def visible_instances(viewer: Viewer) -> ColumnElement[bool]:
    """A condition on ``Instance`` that holds for the complaints ``viewer`` may see."""
    if viewer.has_role(*OVERSEER_ROLES):
        return true()
    reasons: list[ColumnElement[bool]] = []
    me = person(viewer)
    if me is not None:
        reasons.append(Instance.started_by == me)
        reasons.append(
            Instance.id.in_(
                select(HumanTask.instance_id).where(
                    or_(HumanTask.assignee == me, HumanTask.completed_by == me)
                )
            )
        )
    if viewer.groups:
        reasons.append(
            Instance.id.in_(
                select(HumanTask.instance_id).where(
                    HumanTask.status == "open", HumanTask.candidate_group.in_(sorted(viewer.groups))
                )
            )
        )
    if ESCALATION_DESK in viewer.groups:
        reasons.append(Instance.id.in_(records.instances_matching(complaint_type="escalated")))
    return or_(*reasons) if reasons else false()


def may_see_complaint(session: Session, viewer: Viewer, instance_id: int) -> bool:
    found = session.scalar(select(Instance.id).where(Instance.id == instance_id, visible_instances(viewer)))
    return found is not None


# ---------------------------------------------------------------------- tasks


def actionable_tasks(viewer: Viewer) -> ColumnElement[bool]:
    """A condition on ``HumanTask`` that holds for the tasks ``viewer`` may see and act on."""
    if viewer.has_role(*TASK_OVERSEER_ROLES):
        return true()
    me = person(viewer)
    unclaimed_of_my_groups = and_(
        HumanTask.assignee.is_(None), HumanTask.candidate_group.in_(sorted(viewer.groups))
    )
    if me is None:
        return unclaimed_of_my_groups
    return or_(HumanTask.assignee == me, unclaimed_of_my_groups)


def may_see_task(session: Session, viewer: Viewer, task_id: str) -> bool:
    found = session.scalar(select(HumanTask.id).where(HumanTask.id == task_id, actionable_tasks(viewer)))
    return found is not None


def acting_groups(viewer: Viewer) -> frozenset[str]:
    """The groups the engine checks a claim or completion against (its rule: engine.service)."""
    return viewer.groups


def may_act_on_task(task: HumanTask, viewer: Viewer) -> bool:
    """The engine's answer before it is asked: an open task of the viewer's groups, theirs or nobody's."""
    if task.status != "open" or task.candidate_group not in acting_groups(viewer):
        return False
    return task.assignee is None or task.assignee == person(viewer)


def may_list_group(viewer: Viewer, group: str | None) -> bool:
    """The inbox and the API list one group's tasks for its members (None: all the viewer's)."""
    return group is None or group in viewer.groups


def may_assign(viewer: Viewer) -> bool:
    return viewer.has_role(*TASK_OVERSEER_ROLES)


# ---------------------------------------------------------------------- files


def may_see_file(session: Session, viewer: Viewer, instance_id: int) -> bool:
    """A complaint's files (evidence) go with the complaint."""
    return may_see_complaint(session, viewer, instance_id)


# ---------------------------------------------------------------------- starting and recording


def may_start_complaint(viewer: Viewer) -> bool:
    """Intake starts complaints; the escalation desk receives outside units' transfers (T5)."""
    return INTAKE_GROUP in viewer.groups or ESCALATION_DESK in viewer.groups


def starts_at_the_desk(viewer: Viewer) -> bool:
    """T5: a desk member who is not in intake starts at the desk's own entry."""
    return INTAKE_GROUP not in viewer.groups and ESCALATION_DESK in viewer.groups


def may_record_in_one_call(viewer: Viewer) -> bool:
    """The API's ``POST /complaints`` completes intake's record task in the same command."""
    return INTAKE_GROUP in viewer.groups


def may_look_up_callers(viewer: Viewer) -> bool:
    """T2/T3: the caller's complaints while the record is typed, for those who record."""
    return INTAKE_GROUP in viewer.groups


# ---------------------------------------------------------------------- boards, reports, admin


def may_track_escalations(viewer: Viewer) -> bool:
    """T6: the desk's board of escalated complaints; also for those who see every complaint."""
    return ESCALATION_DESK in viewer.groups or viewer.has_role(*OVERSEER_ROLES)


def may_read_reports(viewer: Viewer) -> bool:
    return viewer.has_role(*REPORT_READER_ROLES)


def may_edit_procedure(viewer: Viewer) -> bool:
    """The modeler: drafts, settings, what-if."""
    return viewer.has_role(*EDITOR_ROLES)


def may_administer(viewer: Viewer) -> bool:
    """Deploying, versions, migrations, accounts and tokens."""
    return viewer.has_role(*ADMIN_ROLES)


def may_mark_notification(viewer: Viewer, recipient: str) -> bool:
    return person(viewer) == recipient


# ---------------------------------------------------------------------- templates


class _Allowed:
    """``may`` in templates: the same answers for the signed-in user's links and buttons."""

    def __getattr__(self, name: str) -> Any:
        check = _TEMPLATE_CHECKS[name]
        return current_user.is_authenticated and check(current_user)


_TEMPLATE_CHECKS = {
    "administer": may_administer,
    "edit_procedure": may_edit_procedure,
    "read_reports": may_read_reports,
    "track_escalations": may_track_escalations,
    "look_up_callers": may_look_up_callers,
    "start_a_complaint": may_start_complaint,
    "assign": may_assign,
}


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"may": _Allowed()})
