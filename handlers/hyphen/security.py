"""Connexion security functions for Hyphen: `Authorization: Bearer sk-hyp-...` (gateway mode)
and `X-Org-Id` (direct engine mode, off unless configured); see `core.security`."""

from __future__ import annotations

from agentyard.core.security import current_caller, security_info
from agentyard.hyphen import auth
from agentyard.hyphen.auth import Caller

bearer_info = security_info(auth.from_key, sub=lambda caller: caller.key_id)
org_id_info = security_info(auth.from_org_header, sub=lambda caller: caller.org_id)


def caller() -> Caller:
    """The org calling."""
    return current_caller(Caller)
