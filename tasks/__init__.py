"""The complaint domain: handlers that validate user-task input and implement service tasks.

Each handler names the procedure rule ids (RULES.md) it enforces.
"""
