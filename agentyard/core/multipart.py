"""`multipart/form-data` bodies read as streams: Connexion's own validator keeps every chunk of
a request body in memory while it validates, which a large file upload must not do.

`StreamedMultipart` (in `core.validators.VALIDATOR_MAP`) passes multipart bodies through unread:
the form is then parsed once, by Starlette (files spooled to temporary files past 1 MiB, fields
capped), when the handler asks for it, and the handler validates the fields against its schema
itself with `field_errors` (the surface's 400). Register the upload path under
`Surface.body_limits` with `streamed=True` so the request guard does not buffer it either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema
from connexion.validators import AbstractRequestBodyValidator
from starlette.types import Receive, Scope


class StreamedMultipart(AbstractRequestBodyValidator):
    """Passes a multipart body through without reading it (the handler validates it)."""

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        return receive, scope

    async def _parse(self, stream: Any, scope: Scope) -> Any:  # never called
        return None

    def _validate(self, body: Any) -> dict[str, Any] | None:  # never called
        return None


def field_errors(fields: Mapping[str, Any], schema: Mapping[str, Any]) -> str | None:
    """What is wrong with a form's text `fields` under the operation's body `schema` (the
    served one, declared limits included; its file parts count as given); None if nothing."""
    files = {
        key: ""
        for key, prop in schema.get("properties", {}).items()
        if prop.get("format") in ("binary", "base64")
    }
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft4Validator(schema).iter_errors({**fields, **files})
    )
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message
