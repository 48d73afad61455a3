"""Connexion security functions for Hyphen: `Authorization: Bearer sk-hyp-...` (gateway mode)
and `X-Org-Id` (direct engine mode, off unless configured); see `core.security`."""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest

from agentyard.core.security import current_caller, security_info
from agentyard.hyphen import auth, gateway
from agentyard.hyphen.auth import Caller
from agentyard.hyphen.gateway import Manager


def _operation(request: ConnexionRequest) -> str:
    routing = request.scope.get("extensions", {}).get("connexion_routing", {})
    # Connexion names the resolved handler (`handlers.hyphen.utils.generateDag`): its last
    # part is the spec's operationId
    return str(routing.get("operation_id") or "").rsplit(".", 1)[-1]


def _enforce(who: Caller, request: ConnexionRequest) -> None:
    # the key's permission, by method and operation (the table is auth.PERMISSIONS)
    auth.enforce(who, request.method, _operation(request))


bearer_info = security_info(auth.from_key, sub=lambda caller: caller.key_id, after=_enforce)
org_id_info = security_info(auth.from_org_header, sub=lambda caller: caller.org_id, after=_enforce)


def caller() -> Caller:
    """The org calling."""
    return current_caller(Caller)


management_info = security_info(
    gateway.from_token, sub=lambda manager: manager.account_id, key="manager"
)


def manager() -> Manager:
    """The account calling a management route (`mt-hyp-`)."""
    return current_caller(Manager, key="manager")
