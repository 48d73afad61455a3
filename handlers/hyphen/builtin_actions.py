"""Built-in actions."""

from __future__ import annotations

from agentyard.hyphen import builtin_actions
from handlers.hyphen.security import caller


def listBuiltinActions() -> dict:
    """Built-in actions."""
    caller()
    return {"actions": builtin_actions.listing()}
