"""Hyphen workflow runs: throughput and latency of a 5-step workflow, and what a paused run
costs.

Starts `agentyard serve` (one process, with its in-process job consumer; or `--workers N`
through gunicorn, each worker with its own consumer, on the PostgreSQL + Redis given by
`--database-url` / `--redis-url`), reads the dev org's `sk-hyp-` key from its output, creates
a workflow of five matcher steps (no LLM, no pause), and for each concurrency (1 and 8 by
default) executes `--runs` runs, each polled on `GET /runs/{id}/status` until it completed.
Prints runs/s and the p50/p99 of the run latency (execute request sent -> status completed
seen; the 5 ms polling interval is part of it).

Then (one process only) it pauses `--paused` runs on a PbotApproval and prints the server's
resident memory before and after, per paused run, and the rows each paused run holds: a
paused run is rows, not a thread or a job. Figures only: nothing is asserted.

    .venv/bin/python benchmarks/hyphen_runs.py
    .venv/bin/python benchmarks/hyphen_runs.py --workers 2 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench --redis-url redis://127.0.0.1:6379/5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_ENV,
    HOST,
    Server,
    _agentyard_cmd,
    free_port,
    ms,
    percentile,
    workdir,
)

KEY_RE = re.compile(r"sk-hyp-[0-9a-f]{32}")
ITEMS = [{"id": i, "amount": i * 10, "name": f"vendor {i}"} for i in range(10)]
FIVE_STEPS = {
    "actions": [
        {
            "type": "matcher",
            "properties": {
                "left": "@input.left",
                "right": "@input.right",
                "matchOn": ["id"],
                "tolerance": 1,
                "outputMatched": f"m{i}",
            },
        }
        for i in range(5)
    ]
}
PAUSING = {"actions": [{"type": "PbotApproval", "properties": {"comment": "ok?"}}]}


@contextlib.contextmanager
def hyphen_server(
    tmp: Path, workers: int, database_url: str | None, redis_url: str | None
) -> Iterator[tuple[str, str, Server]]:
    port = free_port()
    data_dir = tmp / "data"
    data_dir.mkdir()
    env = {
        **os.environ,
        **BENCH_ENV,
        "AGENTYARD_DATA_DIR": str(data_dir),
        "AGENTYARD_HYPHEN_REQUESTS_PER_MINUTE": "100000000",
        "AGENTYARD_JOBS_WORKERS": "4",
        "PYTHONUNBUFFERED": "1",
    }
    for var in ("DATABASE_URL", "REDIS_URL", "AGENTYARD_SURFACE"):
        env.pop(var, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    cmd = [
        *_agentyard_cmd(),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    server = Server("agentyard", cmd, env, tmp / "agentyard.log")
    try:
        base = f"http://{HOST}:{port}"
        server.wait_ready(base + "/hyphen/openapi.json", timeout=90)
        found = KEY_RE.search(server.log_text())
        if not found:
            raise RuntimeError(
                "no sk-hyp- key in agentyard's output (a store with a Hyphen org already?):\n"
                + server.log_text()
            )
        yield base + "/hyphen", found.group(0), server
    finally:
        server.stop()


def create(client: httpx.Client, definition: dict, name: str) -> str:
    r = client.post("/workflows", json={"name": name, "definition": definition})
    if r.status_code != 201:
        raise RuntimeError(f"creating the workflow: {r.status_code} {r.text}")
    return r.json()["id"]


def run_once(client: httpx.Client, workflow_id: str, until: str) -> float:
    started = time.perf_counter()
    r = client.post(
        f"/workflows/{workflow_id}/execute", json={"input": {"left": ITEMS, "right": ITEMS}}
    )
    if r.status_code != 202:
        raise RuntimeError(f"execute: {r.status_code} {r.text}")
    run_id = r.json()["run_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/runs/{run_id}/status").json()["status"]
        if status == until:
            return time.perf_counter() - started
        if status in ("failed", "condition_not_met"):
            raise RuntimeError(f"run {run_id} ended {status}")
        time.sleep(0.005)
    raise RuntimeError(f"run {run_id} did not reach {until}")


def load(base: str, key: str, workflow_id: str, runs: int, concurrency: int) -> tuple[float, list]:
    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(range(runs))

    def worker() -> None:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as c:
            while True:
                with lock:
                    if next(todo, None) is None:
                        return
                took = run_once(c, workflow_id, "completed")
                with lock:
                    latencies.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--runs", type=int, default=60, help="runs per concurrency level")
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--paused", type=int, default=200, help="paused runs to measure")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    backend = "PostgreSQL+Redis" if args.database_url else "SQLite"
    with (
        workdir() as tmp,
        hyphen_server(tmp, args.workers, args.database_url, args.redis_url) as (
            base,
            key,
            server,
        ),
    ):
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            workflow_id = create(client, FIVE_STEPS, "five_steps")
            run_once(client, workflow_id, "completed")  # warm up
            print(f"# Hyphen 5-step workflow, {backend}, --workers {args.workers}")
            print("| concurrency | runs | runs/s | p50 ms | p99 ms |")
            print("| --- | --- | --- | --- | --- |")
            for c in levels:
                wall, lat = load(base, key, workflow_id, args.runs, c)
                print(
                    f"| {c} | {len(lat)} | {len(lat) / wall:.1f} | {ms(percentile(lat, 50))} "
                    f"| {ms(percentile(lat, 99))} |"
                )
            if args.workers != 1 or args.paused <= 0:
                return
            pausing = create(client, PAUSING, "pausing")
            run_once(client, pausing, "paused")
            time.sleep(1)
            before = rss_kib(server.proc.pid)
            for _ in range(args.paused):
                run_once(client, pausing, "paused")
            time.sleep(1)
            after = rss_kib(server.proc.pid)
            pending = len(client.get("/approvals").json()["approvals"])
            print(f"\n# {pending} paused runs (PbotApproval), one process")
            print(
                f"RSS before {before} KiB, after {after} KiB: "
                f"{(after - before) * 1024 / args.paused:.0f} bytes per paused run "
                "(allocator noise included; no thread or job is held)"
            )
            if not args.database_url:
                import sqlite3

                db = sqlite3.connect(tmp / "data" / "agentyard.db")
                counts = {
                    t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("flows_run", "flows_step", "flows_trace", "hyphen_run")
                }
                print(f"rows in the store: {counts}")


if __name__ == "__main__":
    main()
