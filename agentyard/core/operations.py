"""Connexion's AsyncApp, with each operation's handler decorated once instead of per request.

Connexion 3's `AsyncOperation` builds a new `StarletteDecorator`, its wrapper and the
parameter/response decorators (each inspecting the handler's signature) on every request.
None of that depends on the request: the decorated function reads the request it is given and
the operation from Connexion's context. `App` builds them, and the operation's URI parser, once
per operation when the API is added; a request only builds its `ConnexionRequest`. The
pythonic names of parameters (`widgetId` -> `widget_id`, through `inflection` on every request
in Connexion) are remembered per name.
"""

from __future__ import annotations

import functools
from typing import Any

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator, pythonic
from connexion.jsonifier import Jsonifier
from connexion.operations import AbstractOperation
from connexion.uri_parsing import AbstractURIParser
from starlette.types import Receive, Scope, Send

_pythonic = functools.lru_cache(maxsize=4096)(pythonic)


class _ParameterDecorator(AsyncParameterDecorator):
    """Connexion's parameter decorator with the pythonic names remembered."""

    def __init__(self, *, framework: Any, pythonic_params: bool = False) -> None:
        super().__init__(framework=framework, pythonic_params=pythonic_params)
        if pythonic_params:
            self.sanitize_fn = _pythonic


class _Decorator(StarletteDecorator):
    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return _ParameterDecorator


class PreparedOperation(AsyncOperation):
    """An `AsyncOperation` whose decorated handler and URI parser are built once."""

    def __init__(
        self,
        fn: Any,
        jsonifier: Jsonifier,
        operation_id: str,
        pythonic_params: bool,
        uri_parser: AbstractURIParser,
    ) -> None:
        super().__init__(fn, jsonifier, operation_id, pythonic_params)
        self._decorator = _Decorator(pythonic_params=pythonic_params, jsonifier=jsonifier)
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


class App(AsyncApp):
    """Connexion's `AsyncApp` serving `PreparedApi`s."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        self._middleware_app.api_cls = PreparedApi

    def build(self) -> None:
        """Build the middleware stack and every API's operations now (Connexion builds them on
        the first request), so a server can freeze them out of the garbage collector."""
        middleware = self.middleware
        if middleware.middleware_stack is None:
            middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
