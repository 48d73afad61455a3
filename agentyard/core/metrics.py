"""Prometheus metrics (`prometheus-client`), served at `/metrics`.

- `agentyard_requests_total{surface,operation,status}` and
  `agentyard_request_duration_seconds{surface,operation}` (histogram), from `logs.AccessLog`;
- `agentyard_sse_streams_open` (gauge), from `core.sse`;
- `agentyard_jobs_total{task,outcome}` (outcome: queued | started | succeeded | failed),
  `agentyard_jobs_running` (jobs executing now) and `agentyard_jobs_queued` (the queue's length
  when scraped), from `core.jobs`;
- `agentyard_phi_scans_total{outcome}` and `agentyard_phi_scan_seconds` (histogram), from the
  PHI guard.

Each process counts its own. With several gunicorn workers, set `PROMETHEUS_MULTIPROC_DIR` to
an empty directory before start (prometheus-client's multiprocess mode) and `/metrics`
aggregates every worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

REQUESTS = Counter(
    "agentyard_requests", "HTTP requests answered", ("surface", "operation", "status")
)
LATENCY = Histogram(
    "agentyard_request_duration_seconds",
    "Time to answer an HTTP request (to the end of its body; streams: their whole life)",
    ("surface", "operation"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SSE_OPEN = Gauge(
    "agentyard_sse_streams_open", "Server-sent event streams open", multiprocess_mode="livesum"
)
JOBS = Counter("agentyard_jobs", "Background jobs by outcome", ("task", "outcome"))
JOBS_RUNNING = Gauge(
    "agentyard_jobs_running", "Background jobs executing now", multiprocess_mode="livesum"
)
PHI_SCANS = Counter("agentyard_phi_scans", "PHI scans by outcome", ("outcome",))
PHI_LATENCY = Histogram(
    "agentyard_phi_scan_seconds",
    "Time of one PHI scan",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)

_queue_size: list[Callable[[], int | None]] = []


def observe_request(surface: str, operation: str, status: int, seconds: float) -> None:
    REQUESTS.labels(surface, operation or "-", str(status)).inc()
    LATENCY.labels(surface, operation or "-").observe(seconds)


def job(task: str, outcome: str) -> None:
    JOBS.labels(task, outcome).inc()


def phi_scan(outcome: str, seconds: float) -> None:
    PHI_SCANS.labels(outcome).inc()
    PHI_LATENCY.observe(seconds)


def queue_size_from(func: Callable[[], int | None]) -> None:
    """Name the function that measures the job queue's length (core.jobs does)."""
    _queue_size[:] = [func]


class _QueueCollector(Collector):
    def collect(self) -> Iterator[Any]:
        size = None
        if _queue_size:
            try:
                size = _queue_size[0]()
            except Exception:  # a dead queue shows in /readyz; the scrape still answers
                size = None
        if size is not None:
            yield GaugeMetricFamily("agentyard_jobs_queued", "Jobs waiting in the queue", size)


REGISTRY.register(_QueueCollector())


def exposition() -> tuple[bytes, str]:
    """The metrics text and its content type (every worker's with PROMETHEUS_MULTIPROC_DIR)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_QueueCollector())
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
