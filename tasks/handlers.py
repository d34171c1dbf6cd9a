"""Validators and service operations of the first procedure diagrams (rule ids in each docstring)."""

from __future__ import annotations

from engine.handlers import ServiceCall, TaskInput
from tasks.registry import REGISTRY
