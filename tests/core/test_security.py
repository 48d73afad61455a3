"""core/security: the Connexion info function made from a sync authenticate function, and
the one way handlers read the current caller."""

from __future__ import annotations

import asyncio
import inspect
import threading
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from connexion.context import _context

from agentyard.core import security
from agentyard.core.errors import ApiError
from agentyard.core.security import NoCallerError, current_caller, security_info
from agentyard.core.store import db


@dataclass
class Who:
    name: str


def _request(**headers: str) -> Any:
    return SimpleNamespace(headers=headers, method="GET", url=SimpleNamespace(path="/x/v1/y"))


def test_the_lookup_runs_in_a_thread_with_a_connection_and_gives_sub_and_caller(app):
    seen: dict[str, Any] = {}
    loop_thread = threading.get_ident()

    def authenticate(secret: str, acting: str | None, method: str) -> Who:
        """The doc of the scheme."""
        seen["open"] = not db.is_closed()
        seen["thread"] = threading.get_ident()
        seen["facts"] = (acting, method)
        return Who(secret.upper())

    def after(caller: Who, request: Any) -> None:
        seen["after"] = (caller.name, request.url.path, not db.is_closed())

    info = security_info(
        authenticate,
        sub=lambda who: f"sub-{who.name}",
        facts=lambda request: (request.headers.get("x-acting"), request.method),
        after=after,
    )
    result = asyncio.run(info("abc", _request(**{"x-acting": "sess_1"})))
    assert result == {"sub": "sub-ABC", "caller": Who("ABC")}
    assert seen["open"] and seen["thread"] != loop_thread
    assert seen["facts"] == ("sess_1", "GET")
    assert seen["after"] == ("ABC", "/x/v1/y", True)
    assert db.is_closed()  # the connection was the lookup's own
    assert info.__doc__ == "The doc of the scheme."


def test_connexion_passes_the_request_and_no_scopes():
    """Connexion 3 passes `request` / `required_scopes` only to functions that name them."""
    info = security_info(lambda secret: Who(secret), sub=lambda who: who.name, key="user")
    assert list(inspect.signature(info).parameters) == ["secret", "request"]
    assert asyncio.run(info("u", _request())) == {"sub": "u", "user": Who("u")}


def test_a_refused_secret_raises_the_authenticate_functions_error(app):
    def authenticate(secret: str) -> Who:
        raise ApiError(401, "unauthorized", "Missing or invalid API key")

    after_calls: list[Who] = []
    info = security_info(authenticate, sub=str, after=lambda c, r: after_calls.append(c))
    with pytest.raises(ApiError) as err:
        asyncio.run(info("bad", _request()))
    assert err.value.status == 401 and after_calls == []


def _in_request(token_info: Any) -> Any:
    return _context.set({"token_info": token_info} if token_info is not None else {})


def test_current_caller_reads_the_token_info():
    token = _in_request({"sub": "s", "caller": Who("a"), "user": "u"})
    try:
        assert current_caller() == Who("a")
        assert current_caller(Who) == Who("a")
        assert current_caller(str, key="user") == "u"
    finally:
        _context.reset(token)


def test_current_caller_raises_when_there_is_none_or_another_kind():
    with pytest.raises(NoCallerError, match="no authenticated caller"):
        current_caller()  # outside any request
    token = _in_request(None)
    try:
        with pytest.raises(NoCallerError, match="no authenticated caller"):
            current_caller(Who)  # an unsecured operation
    finally:
        _context.reset(token)
    token = _in_request({"sub": "s", "caller": "not a Who"})
    try:
        with pytest.raises(NoCallerError, match="not a Who"):
            current_caller(Who)
    finally:
        _context.reset(token)
    assert issubclass(security.NoCallerError, RuntimeError)
