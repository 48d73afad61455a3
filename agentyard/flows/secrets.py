"""Values that must never be stored: collected while a run executes, redacted on write."""

from __future__ import annotations

import threading
from typing import Any

REDACTED = "[REDACTED]"


class Secrets:
    """The secret strings one execution has seen (thread-safe; foreach threads share it)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: Any) -> None:
        """Remember `value` (its string form) as a secret; empty values are ignored."""
        text = value if isinstance(value, str) else str(value)
        if text:
            with self._lock:
                self._values.add(text)

    def redact(self, value: Any) -> Any:
        """`value` (JSON-like) with every occurrence of a secret replaced by `[REDACTED]`."""
        with self._lock:
            secrets = sorted(self._values, key=len, reverse=True)
        if not secrets:
            return value
        return _redact(value, secrets)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        text = str(value)
        return REDACTED if value is not None and text in secrets else value
    return _redact(str(value), secrets)
