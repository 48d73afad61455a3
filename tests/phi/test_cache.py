"""Findings cache: a repeated block is not scanned again; digests are keyed; no text stored."""

from __future__ import annotations

import hashlib
import hmac

from agentyard.config import Settings
from agentyard.phi.cache import (
    KeyedCache,
    MemoryFindingsCache,
    RedisFindingsCache,
    TieredFindingsCache,
    block_digest,
    decode_findings,
    encode_findings,
)
from agentyard.phi.findings import Finding
from agentyard.phi.guard import Guard, cache_from_settings

NOTE = "Patient Maria Delgado, MRN 00482913, seen on 03/14/2023."


class CountingGuard(Guard):
    def __init__(self, analyzer, cache) -> None:
        super().__init__(analyzer, processes=0, cache=cache)
        self.scanned: list[str] = []

    def _scan(self, texts, timeout):
        self.scanned.extend(texts)
        return super()._scan(texts, timeout)


def test_repeated_block_is_a_cache_hit(guard):
    cache = KeyedCache(MemoryFindingsCache(16))
    g = CountingGuard(guard.analyzer, cache)
    first = g.analyze_many([NOTE, "second turn"], timeout=30)
    assert g.scanned == [NOTE, "second turn"]
    again = g.analyze_many(["third turn", NOTE, NOTE], timeout=30)
    assert g.scanned == [NOTE, "second turn", "third turn"]  # NOTE scanned once
    assert again[1] == again[2] == first[0] == guard.analyze(NOTE, timeout=30)
    assert g.redact([NOTE], timeout=30).texts == guard.redact([NOTE], timeout=30).texts


def test_cache_stores_no_text_and_digests_are_keyed():
    store = MemoryFindingsCache(16)
    key = b"k" * 32
    cache = KeyedCache(store, key)
    cache.put(NOTE, [Finding("PERSON", 8, 21, 0.85)])
    ((digest, findings),) = store.entries()
    assert digest == hmac.new(key, NOTE.encode(), hashlib.sha256).digest()
    assert digest != hashlib.sha256(NOTE.encode()).digest()  # not an unkeyed hash
    assert "Maria" not in repr(store.entries())
    assert KeyedCache(MemoryFindingsCache(16)).digest(NOTE) != cache.digest(NOTE)  # random key
    assert "Maria" not in encode_findings(list(findings))
    assert decode_findings(encode_findings(list(findings))) == list(findings)
    assert block_digest(key, NOTE) == digest


def test_memory_cache_is_a_bounded_lru():
    store = MemoryFindingsCache(2)
    store.put(b"a", [])
    store.put(b"b", [])
    assert store.get(b"a") == []
    store.put(b"c", [])  # evicts b, the least recently used
    assert store.get(b"b") is None and store.get(b"a") == [] and len(store) == 2


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value, ex=None):
        self.data[key] = value


def test_redis_tier_shares_digests_and_offsets_only():
    redis = FakeRedis()
    key = b"shared key"
    one = KeyedCache(
        TieredFindingsCache(MemoryFindingsCache(8), RedisFindingsCache(redis, "p:")), key
    )
    two = KeyedCache(
        TieredFindingsCache(MemoryFindingsCache(8), RedisFindingsCache(redis, "p:")), key
    )
    found = [Finding("PERSON", 8, 21, 0.85)]
    one.put(NOTE, found)
    assert two.get(NOTE) == found  # another process with the same key
    assert "Maria" not in repr(redis.data)
    assert list(redis.data) == ["p:" + block_digest(key, NOTE).hex()]


def test_broken_redis_is_a_miss():
    class Broken:
        def get(self, key):
            raise ConnectionError("down")

        def set(self, key, value, ex=None):
            raise ConnectionError("down")

    cache = KeyedCache(
        TieredFindingsCache(MemoryFindingsCache(8), RedisFindingsCache(Broken(), "p:"))
    )
    assert cache.get(NOTE) is None
    cache.put(NOTE, [])  # no exception
    assert cache.get(NOTE) == []  # from memory


def test_cache_from_settings():
    assert cache_from_settings(Settings(phi_cache_entries=0), 0.4) is None
    memory_only = cache_from_settings(Settings(redis_url="redis://127.0.0.1:1/0"), 0.4)
    assert isinstance(memory_only.store, MemoryFindingsCache)  # no shared key: no Redis
    keyed = cache_from_settings(
        Settings(redis_url="redis://127.0.0.1:1/0", phi_cache_key="secret"), 0.4
    )
    assert isinstance(keyed.store, TieredFindingsCache) and keyed.key == b"secret"
    assert "secret" not in repr(Settings(phi_cache_key="secret"))


def test_concurrent_requests_scan_a_block_once(guard):
    import threading
    import time

    class SlowCountingGuard(CountingGuard):
        def _scan(self, texts, timeout):
            time.sleep(0.3)  # long enough for the other request to arrive meanwhile
            return super()._scan(texts, timeout)

    g = SlowCountingGuard(guard.analyzer, KeyedCache(MemoryFindingsCache(16)))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(g.analyze(NOTE, timeout=30)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert g.scanned == [NOTE]
    assert len(results) == 4 and all(r == results[0] for r in results)


def test_a_failed_scan_fails_the_requests_waiting_for_it(guard):
    import threading
    import time

    import pytest

    from agentyard.phi.errors import PhiScanError

    class FailingGuard(CountingGuard):
        def _scan(self, texts, timeout):
            time.sleep(0.3)
            raise PhiScanError("scanner died")

    g = FailingGuard(guard.analyzer, KeyedCache(MemoryFindingsCache(16)))
    errors = []

    def request():
        try:
            g.analyze(NOTE, timeout=30)
        except PhiScanError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 3  # nobody got findings, nobody got an empty result
    with pytest.raises(PhiScanError):
        g.analyze(NOTE, timeout=30)  # nothing was cached
