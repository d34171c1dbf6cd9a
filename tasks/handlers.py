"""Validators and service operations of the procedure diagrams; each names its rule ids.

Importing this module (``tasks.registry`` does) registers them all on ``REGISTRY``:

* ``tasks.validators``: user-task validators (C1-C5, A2, A5, W1-W5, E4-E5, R1/R4/R6, V1-V2)
* ``tasks.operations``: service operations (C4/C5/H1 registration, L2/L4/R4 deadlines,
  L7 breach records and outcomes, closing) and the ``deadline_outcome`` expression function

The deadline arithmetic itself lives in ``tasks.deadlines`` (plain, separately tested).
"""

from tasks import operations, validators  # noqa: F401
