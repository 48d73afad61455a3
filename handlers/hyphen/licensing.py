"""/licensing: the licence verifying key and licence validation (no credential)."""

from __future__ import annotations

from typing import Any

from agentyard.hyphen import licensing


def getLicensePublicKey() -> dict[str, Any]:
    """License public key."""
    return licensing.public_key_view()


def validateLicense(body: dict[str, Any]) -> dict[str, Any]:
    """Validate license: valid, or invalid with the reason."""
    return licensing.validate(body["license"])
