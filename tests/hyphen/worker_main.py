"""A standalone consumer for the Hyphen durability test: `python -m tests.hyphen.worker_main`
(the flows worker, with Hyphen's step types registered in the process)."""

from __future__ import annotations

import logging

import agentyard.hyphen.steps  # noqa: F401 - registers the hyphen engine's step types
from agentyard.config import Settings
from agentyard.core import jobs, runtime

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    runtime.configure(Settings.from_env())
    jobs.run_worker(workers=2, periodic=False)
