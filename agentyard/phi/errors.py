"""Errors raised by the PHI guard. The caller fails the request: nothing goes upstream."""

from __future__ import annotations


class PhiScanError(RuntimeError):
    """The PHI scan could not complete (analyzer error or engine unavailable)."""


class PhiScanTimeoutError(PhiScanError):
    """The PHI scan did not finish within its timeout."""
