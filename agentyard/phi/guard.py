"""The PHI guard: analyze, redact with numbered placeholders, and fail closed.

Usage::

    from agentyard.phi import guard

    g = guard.get_guard()                          # process singleton, loads once (~2 s)
    findings = g.analyze(text, timeout=5.0)        # [Finding(entity_type, start, end, score)]
    red = g.redact(["text one", "text two"], timeout=5.0)
    red.texts                                      # redacted texts, same order
    red.counts                                     # {"PERSON": 2, ...}: replaced occurrences
    red.vault.restore(reply)                       # placeholders -> original values
    restorer = red.vault.restorer()                # for a stream: feed(chunk) / flush()
    g.contains_phi(tool_description, timeout=5.0)  # ["PERSON", ...] entity types found

Threshold: `DEFAULT_THRESHOLD` = 0.4, Presidio's own design point. Weak patterns (a bare
9-digit number, "3/18", a bare 5-digit ZIP...) score 0.05-0.35 and pass only with a context
word among the five words before them (Presidio's LemmaContextAwareEnhancer: +0.35, at least
0.4); labelled values ("MRN: ...") score 0.85, spaCy names/places 0.65, phone numbers 0.4,
checksum-valid card numbers 1.0. On the corpus (``benchmarks/phi_recall.py`` prints the sweep)
0.35-0.4 give the best recall and precision; at 0.3 and below weak matches such as ICD-10
codes ("K21.9" as a licence) flag negative sentences; from 0.45 phone numbers without a
context word are lost (telephone recall 0.41).

Fail closed: any analyzer exception raises `PhiScanError` and a scan that overruns its
timeout raises `PhiScanTimeoutError`; no partial result is ever returned.

Where scans run: by default in a `ScannerPool` of scanner processes (setting
``phi_scan_processes``, 2), so scans use every core, one request's texts are scanned
concurrently and requests waiting for a busy scanner are scanned together as one batch; a dead
or overrunning scanner fails the request(s) it was scanning and is replaced. With
``processes=0`` (or an explicit ``analyzer``) scans run in this process's worker threads, the
spaCy pipeline one text at a time under a lock, the regex recognizers concurrently.

Each distinct text is scanned once: findings are cached by a keyed digest of the text
(`agentyard.phi.cache`; setting ``phi_cache_entries``), so a system prompt or a conversation's
history re-sent on every turn costs a digest, not a scan.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from agentyard.core import metrics
from agentyard.phi.cache import (
    KeyedCache,
    MemoryFindingsCache,
    RedisFindingsCache,
    TieredFindingsCache,
)
from agentyard.phi.errors import PhiScanError, PhiScanTimeoutError
from agentyard.phi.findings import Finding, resolve_overlaps
from agentyard.phi.pool import ScannerPool
from agentyard.phi.scan import scan_text
from agentyard.phi.vault import PLACEHOLDER_RE, Vault
from agentyard.phi.worker import ScanWorkers

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine

    from agentyard.config import Settings

DEFAULT_THRESHOLD = 0.4
DEFAULT_TIMEOUT = 5.0
DEFAULT_WORKERS = 4

# Bump when recognizers change, so shared (Redis) cached findings of older code are not used.
CACHE_VERSION = 1
FROM_SETTINGS = object()  # Guard(cache=...) default: build the cache from the settings

# A value found once is replaced everywhere in the request; values this short are not
# searched for elsewhere (too likely to be ordinary words).
_MIN_PROPAGATED_LENGTH = 3


@dataclass(frozen=True)
class Redaction:
    """The result of `Guard.redact`."""

    texts: list[str]  # redacted, same order as the input
    counts: dict[str, int]  # entity type -> occurrences replaced (never values)
    vault: Vault  # placeholder <-> original value, for restoring the reply
    findings: list[list[Finding]]  # per input text, positions in the ORIGINAL text

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> dict:
        """``{"counts": {...}, "total": n}`` for responses and logs (no values)."""
        return {"counts": dict(self.counts), "total": self.total}


class Guard:
    """Detects and redacts PHI with a Presidio analyzer. Build once, share across threads."""

    def __init__(
        self,
        analyzer: AnalyzerEngine | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        workers: int = DEFAULT_WORKERS,
        processes: int | None = None,
        cache: KeyedCache | None | object = FROM_SETTINGS,
    ) -> None:
        """``analyzer``: a presidio AnalyzerEngine (default: `engine.build_analyzer()`, loaded
        on first in-process use). ``processes``: scanner processes (`ScannerPool`); 0 scans in
        this process's threads; default: the ``phi_scan_processes`` setting, or 0 when an
        ``analyzer`` is given. ``cache``: a `KeyedCache`, None for none, default from settings.
        """
        from presidio_anonymizer import AnonymizerEngine

        settings = _settings() if processes is None or cache is FROM_SETTINGS else None
        if processes is None:
            processes = 0 if analyzer is not None else cast("Settings", settings).phi_scan_processes
        self._analyzer = analyzer
        self.threshold = threshold
        self._anonymizer = AnonymizerEngine()
        self._nlp_lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._workers = ScanWorkers(workers)
        self._inflight: dict[bytes, Future] = {}  # digest -> scan in progress
        self._inflight_lock = threading.Lock()
        self.pool = ScannerPool(processes, threshold) if processes > 0 else None
        if self.pool is None and analyzer is None:
            self._analyzer = self.analyzer  # load now, as before: not inside a request's timeout
        self.cache: KeyedCache | None = (
            cache_from_settings(cast("Settings", settings), threshold)
            if cache is FROM_SETTINGS
            else cast("KeyedCache | None", cache)
        )

    @property
    def analyzer(self) -> AnalyzerEngine:
        """The in-process analyzer (built on first access when scans run in processes)."""
        if self._analyzer is None:
            with self._build_lock:
                if self._analyzer is None:
                    from agentyard.phi.engine import build_analyzer

                    self._analyzer = build_analyzer()
        return self._analyzer

    def close(self) -> None:
        """Stop the scanner processes, if any."""
        if self.pool is not None:
            self.pool.close()

    # -- analysis ---------------------------------------------------------------------------

    def _analyze_now(self, text: str) -> list[Finding]:
        """Analyze in the calling thread (no timeout, no cache)."""
        if not text or text.isspace():
            return []
        with self._nlp_lock:
            artifacts = self.analyzer.nlp_engine.process_text(text, "en")
        return scan_text(self.analyzer, text, self.threshold, artifacts)

    def _analyze_all(self, texts: Sequence[str], cancelled: threading.Event) -> list[list[Finding]]:
        out = []
        for text in texts:
            if cancelled.is_set():
                raise PhiScanError("PHI scan cancelled")
            out.append(self._analyze_now(text))
        return out

    def _scan(self, texts: list[str], timeout: float) -> list[list[Finding]]:
        """Scan `texts` now (no cache), counted and timed in the metrics."""
        start = time.perf_counter()
        outcome = "failed"
        try:
            if self.pool is not None:
                found = self.pool.scan(texts, timeout)
            else:
                found = self._workers.run(
                    lambda cancelled: self._analyze_all(texts, cancelled), timeout
                )
            outcome = "scanned"
            return found
        finally:
            metrics.phi_scan(outcome, time.perf_counter() - start)

    def analyze_many(
        self, texts: Sequence[str], timeout: float = DEFAULT_TIMEOUT
    ) -> list[list[Finding]]:
        """Findings for each text; ``timeout`` covers all of them. Fails closed.

        Each distinct text is scanned once; texts seen before come from the cache.
        """
        texts = list(texts)
        if not any(t and not t.isspace() for t in texts):
            return [[] for _ in texts]
        if timeout <= 0:
            raise PhiScanTimeoutError("PHI scan timeout must be positive")
        out: list[list[Finding] | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            if not text or text.isspace():
                out[i] = []
                continue
            hit = self.cache.get(text) if self.cache is not None else None
            if hit is not None:
                out[i] = hit
                metrics.PHI_SCANS.labels("cached").inc()
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            for text, found in self._scan_once(list(todo), timeout).items():
                for i in todo[text]:
                    out[i] = list(found)
        return [found if found is not None else [] for found in out]

    def _scan_once(self, texts: list[str], timeout: float) -> dict[str, list[Finding]]:
        """Scan ``texts`` (distinct, not cached); a text another request is scanning right now
        is waited for instead of scanned twice (its failure fails this request too)."""
        if self.cache is None:
            return dict(zip(texts, self._scan(texts, timeout), strict=True))
        deadline = time.monotonic() + timeout
        own: list[tuple[str, bytes, Future]] = []
        waits: list[tuple[str, Future]] = []
        with self._inflight_lock:
            for text in texts:
                digest = self.cache.digest(text)
                future = self._inflight.get(digest)
                if future is None:
                    future = self._inflight[digest] = Future()
                    own.append((text, digest, future))
                else:
                    waits.append((text, future))
        out: dict[str, list[Finding]] = {}
        try:
            if own:
                scanned = self._scan([text for text, _, _ in own], timeout)
                for (text, _, future), found in zip(own, scanned, strict=True):
                    self.cache.put(text, found)
                    future.set_result(found)
                    out[text] = found
        except BaseException as exc:
            for _, _, future in own:
                if not future.done():
                    future.set_exception(PhiScanError("PHI scan failed in another request"))
            raise exc
        finally:
            with self._inflight_lock:
                for _, digest, _ in own:
                    self._inflight.pop(digest, None)
        for text, future in waits:
            try:
                out[text] = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                raise PhiScanTimeoutError(f"PHI scan did not finish within {timeout:g} s") from None
            except PhiScanError as exc:
                raise PhiScanError("PHI scan failed") from exc
        return out

    def analyze(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> list[Finding]:
        """Non-overlapping findings in ``text``, sorted by position. Fails closed."""
        return self.analyze_many([text], timeout)[0]

    def contains_phi(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
        """The sorted entity types found in ``text`` (empty when none). Fails closed."""
        return sorted({f.entity_type for f in self.analyze(text, timeout)})

    # -- redaction --------------------------------------------------------------------------

    def redact(self, texts: Sequence[str], timeout: float = DEFAULT_TIMEOUT) -> Redaction:
        """Replace PHI in all ``texts`` of one request with numbered placeholders.

        Placeholders are numbered per entity type in order of first appearance across the
        texts; the same value gets the same placeholder everywhere, and a value found in one
        text is also replaced where it recurs (whole word, same case) in the others.
        """
        texts = list(texts)
        per_text = self.analyze_many(texts, timeout)
        per_text = _propagate(texts, per_text)
        reserved = {m[0] for t in texts for m in PLACEHOLDER_RE.finditer(t)}
        vault = Vault(reserved)
        for text, findings in zip(texts, per_text, strict=True):
            for f in findings:
                vault.placeholder_for(f.entity_type, text[f.start : f.end])
        counts = Counter(f.entity_type for findings in per_text for f in findings)
        redacted = [self._replace(t, fs, vault) for t, fs in zip(texts, per_text, strict=True)]
        return Redaction(redacted, dict(counts), vault, per_text)

    def _replace(self, text: str, findings: list[Finding], vault: Vault) -> str:
        if not findings:
            return text
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        def placeholder(value: str) -> str:
            p = vault.lookup(value)
            if p is None:  # cannot happen: every finding was put in the vault first
                raise PhiScanError("PHI redaction inconsistent")
            return p

        results = [RecognizerResult(f.entity_type, f.start, f.end, f.score) for f in findings]
        return self._anonymizer.anonymize(
            text=text,
            analyzer_results=results,
            operators={"DEFAULT": OperatorConfig("custom", {"lambda": placeholder})},
            merge_entities_with_spaces=False,
        ).text


def _propagate(texts: list[str], per_text: list[list[Finding]]) -> list[list[Finding]]:
    """Add a finding wherever an already-found value recurs and was not found."""
    found: dict[str, Finding] = {}
    for text, findings in zip(texts, per_text, strict=True):
        for f in findings:
            found.setdefault(text[f.start : f.end], f)
    values = [v for v in found if len(v) >= _MIN_PROPAGATED_LENGTH]
    if not values:
        return per_text
    values.sort(key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, values)) + r")(?!\w)")
    out = []
    for text, findings in zip(texts, per_text, strict=True):
        extra = [
            Finding(found[m[0]].entity_type, m.start(), m.end(), found[m[0]].score)
            for m in pattern.finditer(text)
        ]
        extra = [e for e in extra if not any(e.overlaps(f) for f in findings)]
        out.append(resolve_overlaps(findings + extra) if extra else findings)
    return out


def _settings() -> Settings:
    """The runtime's settings, or the environment's outside a configured runtime."""
    from agentyard.config import Settings
    from agentyard.core import runtime

    try:
        return runtime.settings()
    except RuntimeError:
        return Settings.from_env()


def cache_from_settings(settings: Settings, threshold: float) -> KeyedCache | None:
    """The findings cache the settings ask for (None when ``phi_cache_entries`` is 0)."""
    if settings.phi_cache_entries <= 0:
        return None
    memory = MemoryFindingsCache(settings.phi_cache_entries)
    key = settings.phi_cache_key.encode() if settings.phi_cache_key else None
    if key is None or not settings.redis_url:
        return KeyedCache(memory, key)
    import redis

    shared = RedisFindingsCache(
        redis.Redis.from_url(settings.redis_url, socket_timeout=0.5),
        f"agentyard:phi:findings:v{CACHE_VERSION}:{threshold}:",
    )
    return KeyedCache(TieredFindingsCache(memory, shared), key)


_guard: Guard | None = None
_guard_lock = threading.Lock()


def get_guard() -> Guard:
    """The process-wide guard, built on first use (thread-safe; loads the engine once).

    Raises `PhiScanError` if the engine cannot be built (the caller fails closed).
    """
    global _guard
    if _guard is None:
        with _guard_lock:
            if _guard is None:
                try:
                    _guard = Guard()
                except Exception as exc:
                    raise PhiScanError(f"PHI engine unavailable: {type(exc).__name__}") from exc
    return _guard
