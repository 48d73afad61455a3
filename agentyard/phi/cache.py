"""Findings cache: each distinct text block is scanned once.

System prompts and conversation history are re-sent verbatim on every turn. The cache maps a
*keyed digest* of a block (HMAC-SHA256 with a per-process random key, or a configured one) to
the block's findings: entity types, offsets and scores. It never holds the text, and without
the key a digest cannot be checked against a guessed text.

- `MemoryFindingsCache`: a bounded LRU in this process.
- `RedisFindingsCache`: shared by processes through Redis (only with a configured key, which
  every process shares), with a TTL; a Redis error counts as a miss (the block is scanned).
- `TieredFindingsCache`: memory first, then Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
from collections import OrderedDict
from typing import Any, Protocol

from agentyard.phi.findings import Finding

log = logging.getLogger(__name__)

DEFAULT_ENTRIES = 4096


class FindingsCache(Protocol):
    """Digest -> findings store."""

    def get(self, digest: bytes) -> list[Finding] | None: ...

    def put(self, digest: bytes, findings: list[Finding]) -> None: ...


def block_digest(key: bytes, text: str) -> bytes:
    """HMAC-SHA256 of ``text`` under ``key``."""
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


class MemoryFindingsCache:
    """A thread-safe bounded LRU of findings by digest."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> list[Finding] | None:
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            self._entries.move_to_end(digest)
            return list(found)

    def put(self, digest: bytes, findings: list[Finding]) -> None:
        with self._lock:
            self._entries[digest] = tuple(findings)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def entries(self) -> list[tuple[bytes, tuple[Finding, ...]]]:
        """A snapshot of what is stored (for tests and inspection)."""
        with self._lock:
            return list(self._entries.items())


def encode_findings(findings: list[Finding]) -> str:
    """Findings as compact JSON: ``[[type, start, end, score], ...]`` (no text)."""
    return json.dumps([[f.entity_type, f.start, f.end, f.score] for f in findings])


def decode_findings(raw: str | bytes) -> list[Finding]:
    """The inverse of `encode_findings`."""
    return [Finding(t, int(s), int(e), float(sc)) for t, s, e, sc in json.loads(raw)]


class RedisFindingsCache:
    """Findings by digest in Redis, under ``<prefix><hex digest>`` with a TTL."""

    def __init__(self, client: Any, prefix: str, ttl_seconds: int = 86400) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    def get(self, digest: bytes) -> list[Finding] | None:
        try:
            raw = self.client.get(self.prefix + digest.hex())
            return None if raw is None else decode_findings(raw)
        except Exception as exc:  # a miss: the block is scanned
            log.warning("PHI findings cache (redis) get failed: %s", type(exc).__name__)
            return None

    def put(self, digest: bytes, findings: list[Finding]) -> None:
        try:
            self.client.set(
                self.prefix + digest.hex(), encode_findings(findings), ex=self.ttl_seconds
            )
        except Exception as exc:
            log.warning("PHI findings cache (redis) put failed: %s", type(exc).__name__)


class TieredFindingsCache:
    """Memory first, then a shared cache; a shared hit is kept in memory too."""

    def __init__(self, memory: MemoryFindingsCache, shared: FindingsCache) -> None:
        self.memory = memory
        self.shared = shared

    def get(self, digest: bytes) -> list[Finding] | None:
        found = self.memory.get(digest)
        if found is None:
            found = self.shared.get(digest)
            if found is not None:
                self.memory.put(digest, found)
        return found

    def put(self, digest: bytes, findings: list[Finding]) -> None:
        self.memory.put(digest, findings)
        self.shared.put(digest, findings)


class KeyedCache:
    """A findings cache behind a keyed digest: ``get(text)`` / ``put(text, findings)``."""

    def __init__(self, store: FindingsCache, key: bytes | None = None) -> None:
        self.store = store
        self.key = key or os.urandom(32)

    def digest(self, text: str) -> bytes:
        return block_digest(self.key, text)

    def get(self, text: str) -> list[Finding] | None:
        return self.store.get(self.digest(text))

    def put(self, text: str, findings: list[Finding]) -> None:
        self.store.put(self.digest(text), findings)
