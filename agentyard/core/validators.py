"""Connexion's request body validators, as every surface uses them (`VALIDATOR_MAP`).

- JSON: an optional body (`requestBody.required: false`) may be left out. Connexion refuses a
  missing optional body with "Request body must not be empty" unless its schema is nullable;
  here it passes and the handler gets `{}` (Connexion's default body), as the specs promise.
- multipart/form-data: passed through unread (`core.multipart.StreamedMultipart`).
"""

from __future__ import annotations

from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.validators import VALIDATOR_MAP as CONNEXION_VALIDATORS
from connexion.validators import JSONRequestBodyValidator

from agentyard.core.multipart import StreamedMultipart


class OptionalJsonBody(JSONRequestBodyValidator):
    """Connexion's JSON validator, letting an optional body be absent."""

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None and not self._required:
            return None
        return super()._validate(body)


VALIDATOR_MAP: dict[str, Any] = {
    **CONNEXION_VALIDATORS,
    "body": MediaTypeDict(
        {
            **CONNEXION_VALIDATORS["body"],
            "*/*json": OptionalJsonBody,
            "multipart/form-data": StreamedMultipart,
        }
    ),
}
