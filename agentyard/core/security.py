"""Connexion security info functions from plain authenticate functions, and the current caller.

A surface writes a SYNC `authenticate(secret, *facts) -> caller` that raises `ApiError` (401,
429, ...) when the secret is no good, and declares its info functions once:

    api_key_info = security_info(auth.from_api_key, sub=lambda c: c.key_id,
                                 facts=lambda request: (request.method,))

Connexion calls info functions on the event loop, passing the secret positionally and, when the
function names them, `request` and `required_scopes`. The function made here takes
`(secret, request)`, so it serves an `x-apikeyInfoFunc` and an `x-bearerInfoFunc` alike; the
lookup (and the optional per-request `after` hook: rate-limit headers, remembering the mount...)
runs in the threadpool inside `store.with_connection`, holding the event loop for no query.

Handlers read the caller with `current_caller()`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, overload

from connexion.context import context
from connexion.lifecycle import ConnexionRequest

from agentyard.core import aio, request_context
from agentyard.core.store import with_connection

T = TypeVar("T")

InfoFunction = Callable[[str, ConnexionRequest], Awaitable[dict[str, Any]]]


def security_info(
    authenticate: Callable[..., T],
    *,
    sub: Callable[[T], Any],
    facts: Callable[[ConnexionRequest], Sequence[Any]] | None = None,
    after: Callable[[T, ConnexionRequest], None] | None = None,
    key: str = "caller",
) -> InfoFunction:
    """A Connexion security info function over the sync `authenticate(secret, *facts(request))`.

    `sub` names the caller in the token info; the caller itself is stored under `key`
    (read it back with `current_caller(key=key)`). `after(caller, request)`, when given, runs
    right after a successful lookup, in the same thread and connection; it may raise too.
    """

    def lookup(secret: str, request: ConnexionRequest) -> T:
        caller = authenticate(secret, *(facts(request) if facts else ()))
        if after is not None:
            after(caller, request)
        info = request_context.current()
        if info is not None:  # the access log names the tenant
            info.values["tenant"] = tenant_of(caller)
        return caller

    checked = with_connection(lookup)

    async def info(secret: str, request: ConnexionRequest) -> dict[str, Any]:
        caller = await aio.run_blocking(checked, secret, request)
        return {"sub": sub(caller), key: caller}

    info.__doc__ = authenticate.__doc__
    info.__qualname__ = info.__name__ = f"info_{getattr(authenticate, '__name__', 'caller')}"
    # Connexion inspects it on every request (which keywords it takes): computed once.
    info.__signature__ = inspect.signature(info)  # type: ignore[attr-defined]
    return info


_TENANT_PATHS = (
    ("tenant_id",),
    ("org_id",),
    ("org", "id"),
    ("organization", "id"),
    ("realm", "id"),
)


def tenant_of(caller: Any) -> str | None:
    """The tenant id of any product's caller (`tenant_id`, `org_id`, `org.id`,
    `organization.id` or `realm.id`), None when it names none."""
    for path in _TENANT_PATHS:
        value: Any = caller
        for name in path:
            value = getattr(value, name, None)
            if value is None:
                break
        if isinstance(value, str):
            return value
    return None


class NoCallerError(RuntimeError):
    """Code that needs the authenticated caller ran where there is none (or another kind)."""


@overload
def current_caller(kind: type[T], *, key: str = "caller") -> T: ...


@overload
def current_caller(kind: None = None, *, key: str = "caller") -> Any: ...


def current_caller(kind: type[T] | None = None, *, key: str = "caller") -> Any:
    """The authenticated caller of the running request (`token_info[key]`).

    Raises `NoCallerError` outside an authenticated request, or when the caller is not a
    `kind` (a handler of one surface reading another's caller is a programming error).
    """
    try:
        token_info = context["token_info"]
    except (LookupError, RuntimeError):  # no such key / outside a request
        token_info = None
    if not isinstance(token_info, dict) or key not in token_info:
        raise NoCallerError(
            f"no authenticated caller ({key!r}) in this request: is the operation secured?"
        )
    caller = token_info[key]
    if kind is not None and not isinstance(caller, kind):
        raise NoCallerError(
            f"the caller is a {type(caller).__name__}, not a {kind.__name__} ({key!r})"
        )
    return caller
