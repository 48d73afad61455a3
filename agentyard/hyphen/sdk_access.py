"""What an SDK session may touch: the checks every `/sdk` handler makes before it acts.

A publishable key names the workflows (by id or name), tables and actions it opens; `*` opens
every one. Each `require_*` raises 403 (in Hyphen's error shape) when the key does not allow
the object; `require_user` when the session has not signed in with a code.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from agentyard.core.errors import forbidden
from agentyard.hyphen.sdk import ANY, SdkCaller

VIEWER = "viewer"  # a user role that may read but not decide or write


def allows(allowed: Sequence[str], *names: str | None) -> bool:
    """Whether `allowed` (a key's list) opens any of `names`."""
    return ANY in allowed or any(n in allowed for n in names if n)


def allowed_or_all(allowed: Sequence[str]) -> Collection[str] | None:
    """A filter for listing queries: None when the key opens everything (`*`)."""
    return None if ANY in allowed else list(allowed)


def require_table(caller: SdkCaller, name: str) -> None:
    """403 unless the key allows the table `name`."""
    if not allows(caller.allowed_tables, name):
        raise forbidden(f"This publishable key does not allow the table {name!r}")


def require_workflow(caller: SdkCaller, workflow_id: str | None, name: str | None = None) -> None:
    """403 unless the key allows the workflow (named by its id or its name)."""
    if not allows(caller.allowed_workflows, workflow_id, name):
        raise forbidden(f"This publishable key does not allow the workflow {name or workflow_id}")


def require_action(caller: SdkCaller, name: str) -> None:
    """403 unless the key allows the action `name`."""
    if not allows(caller.allowed_actions, name):
        raise forbidden(f"This publishable key does not allow the action {name!r}")


def require_user(caller: SdkCaller, *, write: bool = False) -> None:
    """403 unless the session signed in as a user (and, for `write`, not as a viewer)."""
    if not caller.authenticated:
        raise forbidden("Sign in first: POST /sdk/auth/otp/request, then /sdk/auth/otp/verify")
    if write and caller.user_role == VIEWER:
        raise forbidden(f"{caller.user_email} is a viewer: viewers cannot do this")
