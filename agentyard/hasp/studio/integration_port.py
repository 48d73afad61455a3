"""The port between workflows and org integrations: what an `integration_call` step calls.

The integrations domain fills it once at import with `integration_port.connect(adapter)`;
until then integration steps fail cleanly (`integrations_unavailable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from agentyard.flows import StepFailed


class IntegrationPort(Protocol):
    """Calls an org integration. Raise `LookupError` for an unknown integration (or one of
    another org) and `RuntimeError` when the call fails; both fail the step with the message."""

    def call(
        self,
        org_id: str,
        integration_id: str,
        operation: str,
        input: Mapping[str, Any],
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Run `operation` (an HTTP request, a SQL query, a message...) with `input`."""
        ...


_port: list[IntegrationPort] = []


def connect(port: IntegrationPort | None) -> None:
    """Install the integrations domain's adapter (None disconnects it)."""
    _port.clear()
    if port is not None:
        _port.append(port)


def port() -> IntegrationPort:
    if not _port:
        raise StepFailed(
            "integrations are not available in this server (no integrations domain is connected)",
            code="integrations_unavailable",
        )
    return _port[0]
