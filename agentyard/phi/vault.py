"""Numbered placeholders for one request, and restoring them in the model's reply.

A placeholder is ``[<ENTITY_TYPE>_<n>]`` (``[PERSON_1]``), numbered per entity type in order
of first appearance. One `Vault` spans all the texts of one request, so the same value gets
the same placeholder everywhere in it. `Vault.restore` puts the original values back in a
whole text; `StreamRestorer` does it for a stream of text deltas where a placeholder may be
split across chunks. A placeholder that is not in the vault (one the model made up, or one
the caller wrote literally) is left as is.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

# Any string shaped like a placeholder; only those in the vault are replaced.
PLACEHOLDER_RE = re.compile(r"\[[A-Z][A-Z0-9_]*_[0-9]+\]")


class Vault:
    """Placeholder <-> original value map of one request. Thread-safe.

    ``reserved`` are placeholder-shaped strings already present in the caller's texts; they
    are never issued, so a literal ``[PERSON_1]`` written by the caller cannot be confused
    with a redacted value.
    """

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._reserved = frozenset(reserved)
        self._by_value: dict[str, str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def placeholder_for(self, entity_type: str, value: str) -> str:
        """The placeholder of ``value``, issuing the next number of ``entity_type`` if new.

        A value keeps the placeholder it got first, whatever type it is found as later.
        """
        with self._lock:
            existing = self._by_value.get(value)
            if existing is not None:
                return existing
            n = self._counters.get(entity_type, 0)
            while True:
                n += 1
                placeholder = f"[{entity_type}_{n}]"
                if placeholder not in self._reserved:
                    break
            self._counters[entity_type] = n
            self._by_value[value] = placeholder
            self._by_placeholder[placeholder] = value
            return placeholder

    def lookup(self, value: str) -> str | None:
        """The placeholder already issued for ``value``, if any."""
        return self._by_value.get(value)

    def original(self, placeholder: str) -> str | None:
        """The original value behind ``placeholder``, if it was issued."""
        return self._by_placeholder.get(placeholder)

    def items(self) -> list[tuple[str, str]]:
        """(placeholder, original value) pairs in issue order."""
        with self._lock:
            return list(self._by_placeholder.items())

    def values(self) -> list[str]:
        """The original values, in issue order."""
        with self._lock:
            return list(self._by_value)

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def __contains__(self, placeholder: object) -> bool:
        return placeholder in self._by_placeholder

    def restore(self, text: str) -> str:
        """``text`` with every issued placeholder replaced by its original value."""
        if not self._by_placeholder or "[" not in text:
            return text
        return PLACEHOLDER_RE.sub(lambda m: self._by_placeholder.get(m[0], m[0]), text)

    def restorer(self) -> StreamRestorer:
        """A restorer for a stream of text deltas (create it after redaction is done)."""
        return StreamRestorer(self)


class StreamRestorer:
    """Restores placeholders in a stream of text deltas.

    ``feed(chunk)`` returns everything that can no longer be part of a placeholder, restored;
    it holds back only a trailing ``[...`` that is still the prefix of an issued placeholder.
    ``flush()`` returns the rest at the end of the stream. The concatenation of all returned
    strings equals ``vault.restore(<whole text>)`` however the text is split. Not thread-safe:
    one restorer per stream.
    """

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._prefixes = {p[:i] for p, _ in vault.items() for i in range(1, len(p))}
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """Add a delta; return the restored text that is safe to emit now."""
        text = self._pending + chunk
        cut = text.rfind("[")
        if cut >= 0 and text[cut:] in self._prefixes:
            self._pending = text[cut:]
            text = text[:cut]
        else:
            self._pending = ""
        return self._vault.restore(text)

    def flush(self) -> str:
        """End of stream: return whatever is still held back."""
        text, self._pending = self._pending, ""
        return self._vault.restore(text)
