"""Connexion's AsyncApp, with each operation's handler decorated once instead of per request.

Connexion 3's `AsyncOperation` builds a new `StarletteDecorator`, its wrapper and the
parameter/response decorators (each inspecting the handler's signature) on every request.
None of that depends on the request: the decorated function reads the request it is given and
the operation from Connexion's context. `App` builds them, and the operation's URI parser, once
per operation when the API is added; a request only builds its `ConnexionRequest`. The
pythonic names of parameters (`widgetId` -> `widget_id`, through `inflection` on every request
in Connexion) are remembered per name.

Three more of Connexion's per-request costs are avoided: its security handlers inspected the
security info function's signature on every request (`_accepts_kwarg`, twice), its Swagger UI
middleware matched every request against every API's mount and copied the scope to serve the
few paths under an API's `/ui`, and its parameter decorator read a body and parsed a form out
of requests to operations that declare no body (together ~10 % of an authenticated GET's CPU,
`benchmarks/request_cpu.py`).
"""

from __future__ import annotations

import functools
from typing import Any

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import (
    AsyncParameterDecorator,
    prep_kwargs,
    pythonic,
    unwrap_decorators,
)
from connexion.jsonifier import Jsonifier
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.security import SECURITY_HANDLERS, AbstractSecurityHandler
from connexion.uri_parsing import AbstractURIParser
from connexion.utils import inspect_function_arguments
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

_pythonic = functools.lru_cache(maxsize=4096)(pythonic)


class _ParameterDecorator(AsyncParameterDecorator):
    """Connexion's parameter decorator with the pythonic names remembered."""

    def __init__(self, *, framework: Any, pythonic_params: bool = False) -> None:
        super().__init__(framework=framework, pythonic_params=pythonic_params)
        if pythonic_params:
            self.sanitize_fn = _pythonic


class _BodylessParameterDecorator(_ParameterDecorator):
    """For an operation that declares no request body: its handler gets no body and no form
    files, without Connexion reading either (it parsed a form out of every GET)."""

    def __call__(self, function: Any) -> Any:
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        if has_kwargs or "body" in arguments:  # Connexion would hand it what was sent
            return super().__call__(function)
        sanitize = self.sanitize_fn

        @functools.wraps(function)
        async def wrapper(request: Any) -> Any:
            kwargs = prep_kwargs(
                request,
                request_body=None,
                files={},
                arguments=arguments,
                has_kwargs=False,
                sanitize=sanitize,
            )
            return await function(**kwargs)

        return wrapper


class _Decorator(StarletteDecorator):
    def __init__(self, *, bodyless: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bodyless = bodyless

    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return _BodylessParameterDecorator if self.bodyless else _ParameterDecorator


class PreparedOperation(AsyncOperation):
    """An `AsyncOperation` whose decorated handler and URI parser are built once."""

    def __init__(
        self,
        fn: Any,
        jsonifier: Jsonifier,
        operation_id: str,
        pythonic_params: bool,
        uri_parser: AbstractURIParser,
        bodyless: bool = False,
    ) -> None:
        super().__init__(fn, jsonifier, operation_id, pythonic_params)
        self._decorator = _Decorator(
            bodyless=bodyless, pythonic_params=pythonic_params, jsonifier=jsonifier
        )
        self._decorated = self._decorator.decorate(fn)
        self._uri_parser = uri_parser

    @classmethod
    def from_operation(
        cls, operation: AbstractOperation, *, pythonic_params: bool, jsonifier: Jsonifier
    ) -> PreparedOperation:
        uri_parser = operation.uri_parser_class(operation.parameters, operation.body_definition())
        return cls(
            operation.function,
            jsonifier=jsonifier,
            operation_id=operation.operation_id,
            pythonic_params=pythonic_params,
            uri_parser=uri_parser,
            bodyless=not operation.body_definition(),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        # the scope and receive Connexion's context holds (its ContextMiddleware set them)
        request = self._decorator.framework.get_request(
            uri_parser=self._uri_parser, scope=scope, receive=receive
        )
        response = await self._decorated(request)
        return await response(scope, receive, send)


class PreparedApi(AsyncApi):
    """An `AsyncApi` of `PreparedOperation`s."""

    def make_operation(self, operation: AbstractOperation) -> AsyncOperation:
        return PreparedOperation.from_operation(
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class _KeywordsOnce:
    """Mixin for Connexion's security handlers: whether the info function takes a keyword
    (`required_scopes`, `request`) is inspected once per function, not on every request."""

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def _accepts_kwarg(func: Any, keyword: str) -> bool:
        return AbstractSecurityHandler._accepts_kwarg(func, keyword)


SECURITY_MAP = {
    name: type(handler.__name__, (_KeywordsOnce, handler), {})
    for name, handler in SECURITY_HANDLERS.items()
}


class SwaggerUI(SwaggerUIMiddleware):
    """Connexion's Swagger UI middleware, whose router sees only the paths it can serve (those
    under one of its routes' paths); every other request goes straight on, unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._prefixes: tuple[str, ...] = ()

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        mount = self.router.routes[-1]  # the API's mount, just added
        self._prefixes += tuple(mount.path + route.path for route in mount.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not get_route_path(scope).startswith(self._prefixes):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


MIDDLEWARES = [
    SwaggerUI if middleware is SwaggerUIMiddleware else middleware
    for middleware in ConnexionMiddleware.default_middlewares
]


class App(AsyncApp):
    """Connexion's `AsyncApp` serving `PreparedApi`s, its security handlers and Swagger UI
    middleware doing their per-request work once (see the module)."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("security_map", SECURITY_MAP)
        kwargs.setdefault("middlewares", list(MIDDLEWARES))
        super().__init__(import_name, **kwargs)
        self._middleware_app.api_cls = PreparedApi

    def build(self) -> None:
        """Build the middleware stack and every API's operations now (Connexion builds them on
        the first request), so a server can freeze them out of the garbage collector."""
        middleware = self.middleware
        if middleware.middleware_stack is None:
            middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
