"""What this process did lately, in bounded in-memory rings, for the operator console: the
last requests it answered (as their access-log lines have them: no header, query or body) and
the last background-job events it saw. Per process: with several workers, each shows its own."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

SIZE = 200
_lock = threading.Lock()
_requests: deque[dict[str, Any]] = deque(maxlen=SIZE)
_jobs: deque[dict[str, Any]] = deque(maxlen=SIZE)


def request(entry: dict[str, Any]) -> None:
    with _lock:
        _requests.append(entry)


def job(entry: dict[str, Any]) -> None:
    with _lock:
        _jobs.append(entry)


def requests(limit: int = 50) -> list[dict[str, Any]]:
    """The latest requests, newest first."""
    with _lock:
        return list(reversed(_requests))[:limit]


def jobs(limit: int = 50) -> list[dict[str, Any]]:
    """The latest job events, newest first."""
    with _lock:
        return list(reversed(_jobs))[:limit]
