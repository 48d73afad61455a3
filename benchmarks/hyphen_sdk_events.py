"""Hyphen SDK events: trigger -> receipt latency with 100 concurrent `GET /sdk/events` streams.

Starts `agentyard serve` (one process on SQLite; or `--backend postgres` on a scratch
PostgreSQL database, with `--workers N` gunicorn workers and Redis pub/sub), signs up a
gateway account (`POST /gateway/signup`: management token + org key), creates a custom table
and `--decisions` runs paused on a PbotApproval, mints a publishable key allowing every
workflow and table, starts `--streams` SDK sessions and opens one event stream per session
(each waits for its `: stream open`). It then triggers, one after the other, `--writes` row
inserts (`POST /custom-tables/bench/rows`, each -> `table:updated`) and `--decisions`
approvals (`POST /approvals/{runId}/0`, each -> `task:decided`), alternating, `--gap` seconds
apart. Latency is trigger -> receipt: `time.perf_counter()` just before the trigger request
is sent, to the moment a stream reads the event's `data:` line (same process). Prints
p50/p99/max, and how many of the `streams x events` deliveries arrived. With several workers
the streams spread over them and the events travel through Redis. Figures only: nothing here
asserts on timings.

    .venv/bin/python benchmarks/hyphen_sdk_events.py
    .venv/bin/python benchmarks/hyphen_sdk_events.py --backend postgres --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ms, percentile, workdir
from hyphen_runs import hyphen_server
from requests_throughput import scratch_database

BENCH_TABLE = "bench"
PAUSING = {"actions": [{"type": "PbotApproval", "properties": {"comment": "ok?"}}]}


@dataclass
class Stats:
    expected: int
    sent: dict[str, float] = field(default_factory=dict)  # event key -> trigger time
    latency: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=lambda: {"row": [], "run": []})
    received: int = 0
    duplicates: int = 0
    stream_errors: list[str] = field(default_factory=list)
    trigger_errors: list[str] = field(default_factory=list)
    seen: set[tuple[int, str]] = field(default_factory=set)
    all_in: asyncio.Event = field(default_factory=asyncio.Event)


def key_of(event: str, data: object) -> str | None:
    """The benchmark's name of an event: `row:<idx>` or `run:<runId>`; None for the rest."""
    if not isinstance(data, dict):
        return None
    if event == "table:updated":
        return f"row:{(data.get('changes') or {}).get('idx')}"
    if event == "task:decided":
        return f"run:{data.get('runId')}"
    return None


async def read_stream(
    client: httpx.AsyncClient, index: int, token: str, opened: asyncio.Event, stats: Stats
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    try:
        async with client.stream("GET", "/sdk/events", headers=headers) as resp:
            if resp.status_code != 200:
                body = (await resp.aread()).decode(errors="replace")[:200]
                stats.stream_errors.append(f"HTTP {resp.status_code}: {body}")
                return
            event = ""
            async for line in resp.aiter_lines():
                if line.startswith(": stream open"):
                    opened.set()
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    arrived = time.perf_counter()
                    name = key_of(event, json.loads(line[5:].strip()))
                    sent = stats.sent.get(name) if name else None
                    if sent is None:
                        continue
                    if (index, name) in stats.seen:
                        stats.duplicates += 1
                        continue
                    stats.seen.add((index, name))
                    stats.latency.append(arrived - sent)
                    stats.by_kind[name.split(":", 1)[0]].append(arrived - sent)
                    stats.received += 1
                    if stats.received >= stats.expected:
                        stats.all_in.set()
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        stats.stream_errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        opened.set()


def setup(base: str, runs: int) -> tuple[httpx.Client, dict, list[str]]:
    """Sign up, create the table and the paused runs, mint the publishable key."""
    r = httpx.post(
        base + "/gateway/signup",
        json={"email": f"bench-{secrets.token_hex(4)}@example.com", "name": "bench"},
    )
    if r.status_code != 201:
        raise RuntimeError(f"signup: {r.status_code} {r.text}")
    body = r.json()
    org_id = body["org"]["id"]
    engine = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {body['api_key']['key']}"}, timeout=30
    )
    manage = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {body['management_token']}"}, timeout=30
    )
    fields = [{"name": "idx", "type": "integer"}]
    r = engine.post("/custom-tables", json={"name": BENCH_TABLE, "fields": fields})
    if r.status_code != 201:
        raise RuntimeError(f"custom table: {r.status_code} {r.text}")
    r = engine.post("/workflows", json={"name": "bench-approval", "definition": PAUSING})
    if r.status_code != 201:
        raise RuntimeError(f"workflow: {r.status_code} {r.text}")
    workflow_id = r.json()["id"]
    run_ids = []
    for _ in range(runs):
        r = engine.post(f"/workflows/{workflow_id}/execute", json={"input": {}})
        if r.status_code != 202:
            raise RuntimeError(f"execute: {r.status_code} {r.text}")
        run_ids.append(r.json()["run_id"])
    deadline = time.monotonic() + 120
    for run_id in run_ids:
        while engine.get(f"/runs/{run_id}/status").json()["status"] != "paused":
            if time.monotonic() > deadline:
                raise RuntimeError(f"run {run_id} did not pause")
            time.sleep(0.02)
    r = manage.post(
        f"/gateway/orgs/{org_id}/sdk-keys",
        json={
            "label": "bench",
            "allowed_workflows": ["*"],
            "allowed_tables": ["*"],
            "rate_limit_per_minute": 100_000,
        },
    )
    if r.status_code != 201:
        raise RuntimeError(f"publishable key: {r.status_code} {r.text}")
    manage.close()
    return engine, r.json(), run_ids


async def trigger(engine: httpx.Client, args: argparse.Namespace, runs: list[str], stats: Stats):
    """Alternate row inserts and decisions, `--gap` s apart, each timed just before sending."""
    plan: list[tuple[str, object]] = []
    for i in range(max(args.writes, len(runs))):
        if i < args.writes:
            plan.append(("row", i))
        if i < len(runs):
            plan.append(("run", runs[i]))
    for kind, what in plan:
        name = f"{kind}:{what}"
        stats.sent[name] = time.perf_counter()
        if kind == "row":
            call = (f"/custom-tables/{BENCH_TABLE}/rows", {"data": {"idx": what}}, 201)
        else:
            call = (f"/approvals/{what}/0", {"approved": True}, 200)
        r = await asyncio.to_thread(engine.post, call[0], json=call[1])
        if r.status_code != call[2]:
            stats.trigger_errors.append(f"{name}: {r.status_code} {r.text[:200]}")
        await asyncio.sleep(args.gap)


async def run(args: argparse.Namespace, base: str) -> Stats:
    engine, key, runs = await asyncio.to_thread(setup, base, args.decisions)
    stats = Stats(expected=args.streams * (args.writes + len(runs)))
    tokens = []
    with httpx.Client(base_url=base, timeout=30) as plain:
        for _ in range(args.streams):
            r = plain.post("/sdk/auth/session", headers={"X-Publishable-Key": key["key"]})
            if r.status_code != 201:
                raise RuntimeError(f"session: {r.status_code} {r.text}")
            tokens.append(r.json()["session_token"])
    limits = httpx.Limits(max_connections=args.streams + 10)
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        opened = [asyncio.Event() for _ in tokens]
        readers = [
            asyncio.create_task(read_stream(client, i, token, opened[i], stats))
            for i, token in enumerate(tokens)
        ]
        try:
            t0 = time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(e.wait() for e in opened)), args.open_timeout
                )
            live = sum(not r.done() for r in readers)
            print(f"opened {live}/{len(readers)} streams in {time.perf_counter() - t0:.2f} s")
            started = time.perf_counter()
            await trigger(engine, args, runs, stats)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stats.all_in.wait(), args.drain_timeout)
            print(
                f"triggered {len(stats.sent)} events in {time.perf_counter() - started:.2f} s "
                f"({args.writes} row inserts, {len(runs)} decisions)"
            )
        finally:
            for r in readers:
                r.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    engine.close()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--streams", type=int, default=100, help="concurrent SSE streams")
    parser.add_argument("--writes", type=int, default=20, help="row inserts (table:updated)")
    parser.add_argument("--decisions", type=int, default=20, help="decisions (task:decided)")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between triggers")
    parser.add_argument("--workers", type=int, default=1, choices=[1, 2, 3, 4])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="--backend postgres: a scratch database is created on this server",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/0",
        help="--backend postgres: pub/sub, limits and jobs across workers",
    )
    parser.add_argument("--open-timeout", type=float, default=60.0)
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    args = parser.parse_args()
    if not 1 <= args.streams <= 1000 or args.writes < 0 or args.decisions < 0:
        parser.error("need 1 <= --streams <= 1000 and --writes, --decisions >= 0")
    if args.workers > 1 and args.backend != "postgres":
        parser.error("--workers > 1 needs --backend postgres (SQLite is one process's store)")
    redis_url = args.redis_url if args.backend == "postgres" else None
    stack = "uvicorn, 1 process" if args.workers == 1 else f"gunicorn + {args.workers} workers"
    print(
        f"agentyard serve ({stack}), store {args.backend}"
        + (", Redis pub/sub" if redis_url else ", in-process pub/sub")
        + f"; {args.streams} streams, {args.writes} inserts + {args.decisions} decisions, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    with workdir() as tmp, contextlib.ExitStack() as stack_:
        database_url = None
        if args.backend == "postgres":
            database_url = stack_.enter_context(scratch_database(args.database_url))
        os.environ["AGENTYARD_HYPHEN_SIGNUPS_PER_MINUTE"] = "1000"
        with hyphen_server(tmp, args.workers, database_url, redis_url) as (base, _key, _srv):
            stats = asyncio.run(run(args, base))
    print()
    lat = stats.latency

    def summary(values: list[float]) -> str:
        return (
            f"p50 {ms(percentile(values, 50))} ms  p99 {ms(percentile(values, 99))} ms  "
            f"max {ms(max(values)) if values else 'n/a'} ms  (n={len(values)})"
        )

    print(f"trigger -> receipt latency : {summary(lat)}")
    print(f"  row insert -> table:updated   : {summary(stats.by_kind['row'])}")
    print(f"  decision   -> task:decided    : {summary(stats.by_kind['run'])}")
    print(f"delivered                  : {stats.received}/{stats.expected}")
    for label, problems in (
        ("stream errors", stats.stream_errors),
        ("trigger errors", stats.trigger_errors),
    ):
        if problems:
            print(f"note: {len(problems)} {label}, e.g. {problems[:2]}")
    if stats.duplicates:
        print(f"note: {stats.duplicates} duplicate deliveries")
    if math.isnan(percentile(lat, 50)):
        print("note: nothing was delivered")


if __name__ == "__main__":
    main()
