"""Connexion security functions for Hyphen: `Authorization: Bearer sk-hyp-...` (gateway mode)
and `X-Org-Id` (direct engine mode, off unless configured); see `core.security`."""

from __future__ import annotations

from connexion.lifecycle import ConnexionRequest

from agentyard.core.security import current_caller, security_info
from agentyard.hyphen import auth, gateway, sdk
from agentyard.hyphen.auth import Caller
from agentyard.hyphen.gateway import Manager
from agentyard.hyphen.sdk import KeyCaller, SdkCaller


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


def _key_origin(who: KeyCaller, request: ConnexionRequest) -> None:
    sdk.check_origin(who.scopes.origins, request.headers.get("origin"), request.scope)


def _session_origin(who: SdkCaller, request: ConnexionRequest) -> None:
    sdk.check_origin(who.allowed_origins, request.headers.get("origin"), request.scope)


# `X-Publishable-Key: pk_live_...` (POST /sdk/auth/session only)
publishable_key_info = security_info(
    sdk.from_publishable_key, sub=lambda who: who.key_id, after=_key_origin, key="sdk_key"
)
# `Authorization: Bearer sdk_sess_...` on every other /sdk route (and `?session_token=` on the
# event stream, whose browser API cannot send headers): both schemes use this one function.
sdk_session_info = security_info(
    sdk.from_session_token, sub=lambda who: who.session_id, after=_session_origin, key="sdk"
)


def sdk_key() -> KeyCaller:
    """The publishable key calling `POST /sdk/auth/session`."""
    return current_caller(KeyCaller, key="sdk_key")


def sdk_caller() -> SdkCaller:
    """The SDK session calling an `/sdk` route: org, key, what the key allows, the user (or
    None). Check what it touches with `agentyard.hyphen.sdk_access.require_*`."""
    return current_caller(SdkCaller, key="sdk")
