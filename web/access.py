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
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from engine.models import HumanTask, Instance
from engine.service import SYSTEM_ACTOR
from tasks import records
from tasks.validators import ESCALATION_DESK
from web.public import SUBMITTED_VIA

OVERSEER_ROLES = ("supervisor", "process_owner", "admin")
TASK_OVERSEER_ROLES = ("supervisor",)
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
