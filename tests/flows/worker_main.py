"""A standalone consumer for the durability tests: `python -m tests.flows.worker_main`.

Reads the store/queue settings from the environment (AGENTYARD_DATA_DIR, DATABASE_URL,
REDIS_URL, AGENTYARD_JOBS_QUEUE, AGENTYARD_FLOWS_LEASE_SECONDS) like `agentyard worker`.
"""

from __future__ import annotations

import logging

import tests.flows.steps  # noqa: F401 - registers the test engine in this process
from agentyard.config import Settings
from agentyard.core import jobs, runtime

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    runtime.configure(Settings.from_env())
    jobs.run_worker(workers=2, periodic=False)
