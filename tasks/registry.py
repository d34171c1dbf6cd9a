"""The complaint domain's handler registry, which the engine resolves diagram names against.

Built by :func:`build_registry` from what each module declares, so importing a module never
changes the registry (no import cycle, no import order to get right):

* ``tasks.validators``: user-task validators (C1-C5, A2, A5, T1-T4, T6, T7, W1-W5, E1-E5,
  H2-H5, H7, R1-R6, V1-V2), with the work-order reply's in ``tasks.work_order_validators`` and
  the customer reply's in ``tasks.customer_reply_validators``
* ``tasks.operations``: service operations (C4/C5/H1 registration, T2/T3 repeat check and
  reminders, L1 first-reply check, L2/L4/R4 deadlines, E3 extension, V1/H3 second dispatch,
  L7 breach records and outcomes, closing) and the ``deadline_outcome`` expression function
* ``tasks.spans``: ``deadline_span``, the figures of procedure.toml for timer expressions
* ``tasks.timer_figures.figure_words``: the deadline timers' labels, written at deploy (issue 10)
* ``tasks.warning_sweep.config_problems``: the deploy-time check of ``[warnings]``
* ``tasks.complaint_projection.project_complaint``: keeps the complaint record (``complaints``) in step
  with every command
* ``tasks.contacts.project_contact``: the customer and department of every instance,
  numbered or not (``complaint_contacts``)

The deadline arithmetic itself lives in ``tasks.deadlines`` (plain, separately tested);
``tasks.repeats`` writes the T2 reminder in the intake's transaction (operation
``tell_dispatching_side``) and delivers it through the engine's outbox (kind ``t2_reminder``).
"""

from engine.handlers import HandlerRegistry
from tasks import contacts, operations, records, repeats, spans, timer_figures, validators, warning_sweep


def build_registry() -> HandlerRegistry:
    """Every handler of the complaint procedure, in a new registry."""
    registry = HandlerRegistry()
    for handlers in (validators.HANDLERS, operations.HANDLERS, spans.HANDLERS, repeats.HANDLERS):
        registry.include(handlers)
    registry.labeller(timer_figures.figure_words)
    registry.projection(records.project_complaint)
    registry.projection(contacts.project_contact)  # issue 13: find before numbering, by department
    registry.config_check(warning_sweep.config_problems)  # [warnings]: fractions of each clock
    return registry


REGISTRY = build_registry()
