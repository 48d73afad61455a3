"""POST /messages -> SSE receipt latency with many concurrent AISP Hub streams open.

Starts `agentyard serve` (uvicorn, one process) on a free 127.0.0.1 port with a fresh data dir,
registers one sender and --streams receiver sessions with the dev key, opens one
`GET /aisp-hub/api/v1/messages/stream` per receiver and waits for each stream's
`: stream open` comment. It then sends --messages messages round-robin over the receivers
from the one sender session, each carrying its send time (`time.perf_counter()`, same process)
in its payload, and records when each arrives on its stream. Meanwhile a probe issues a plain
`GET /aisp-hub/api/v1/sessions` every --probe-interval seconds, to show that the open streams
do not starve ordinary requests. Prints p50/p99/max receipt latency, how many messages
arrived, how many sends answered `delivered: true`, and the probe latencies. Figures only:
nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import HUB, agentyard_server, ms, percentile, register_session, workdir


@dataclass
class Stats:
    """Everything measured, keyed by message index where it matters."""

    expected: int
    received: dict[int, float] = field(default_factory=dict)  # index -> receipt latency (s)
    duplicates: int = 0
    foreign_events: int = 0
    stream_errors: list[str] = field(default_factory=list)
    post_latency: list[float] = field(default_factory=list)
    post_errors: list[str] = field(default_factory=list)
    delivered_true: int = 0
    probe_idle: list[float] = field(default_factory=list)
    probe_busy: list[float] = field(default_factory=list)
    probe_errors: int = 0
    all_in: asyncio.Event = field(default_factory=asyncio.Event)


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)}  p50 {ms(percentile(values, 50))} ms  "
        f"p99 {ms(percentile(values, 99))} ms  max {ms(max(values))} ms"
    )


async def read_stream(
    client: httpx.AsyncClient, headers: dict[str, str], opened: asyncio.Event, stats: Stats
) -> None:
    """Follow one SSE stream until cancelled; record each benchmark message's latency."""
    try:
        async with client.stream("GET", HUB + "/messages/stream", headers=headers) as resp:
            if resp.status_code != 200:
                body = (await resp.aread()).decode(errors="replace")[:200]
                stats.stream_errors.append(f"HTTP {resp.status_code}: {body}")
                return
            arrived = math.nan
            async for line in resp.aiter_lines():
                if line.startswith(":"):
                    if line.startswith(": stream open"):
                        opened.set()
                    continue
                if not line.startswith("data:"):
                    continue  # `id:`, `event:` and the blank line ending an event
                arrived = time.perf_counter()
                message = json.loads(line[5:].lstrip())
                payload = message.get("payload") or {}
                index, sent = payload.get("bench_index"), payload.get("bench_sent")
                if not isinstance(index, int) or not isinstance(sent, float):
                    stats.foreign_events += 1
                elif index in stats.received:
                    stats.duplicates += 1
                else:
                    stats.received[index] = arrived - sent
                    if len(stats.received) >= stats.expected:
                        stats.all_in.set()
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        stats.stream_errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        opened.set()  # never leave the opener waiting on a stream that failed


async def probe_sessions(
    client: httpx.AsyncClient, key: str, out: list[float], stats: Stats
) -> float:
    """One plain GET /sessions; appends and returns its latency (seconds)."""
    start = time.perf_counter()
    try:
        r = await client.get(HUB + "/sessions", headers={"X-AISP-Key": key})
        ok = r.status_code == 200
    except httpx.HTTPError:
        ok = False
    took = time.perf_counter() - start
    if ok:
        out.append(took)
    else:
        stats.probe_errors += 1
    return took


async def send_all(
    client: httpx.AsyncClient,
    key: str,
    sender: str,
    receivers: list[str],
    count: int,
    concurrency: int,
    stats: Stats,
) -> None:
    """Send `count` messages round-robin over `receivers`, `concurrency` at a time."""
    headers = {"X-AISP-Key": key, "X-AISP-Session": sender}
    next_index = iter(range(count))

    async def worker() -> None:
        for index in next_index:
            sent = time.perf_counter()
            body = {
                "aisp": "0.1",
                "from": sender,
                "to": receivers[index % len(receivers)],
                "realm": "default",
                "category": "inform",
                "payload": {"bench_index": index, "bench_sent": sent},
            }
            try:
                r = await client.post(HUB + "/messages", headers=headers, json=body)
            except httpx.HTTPError as exc:
                stats.post_errors.append(f"#{index}: {type(exc).__name__}: {exc}")
                continue
            stats.post_latency.append(time.perf_counter() - sent)
            if r.status_code != 200:
                stats.post_errors.append(f"#{index}: HTTP {r.status_code} {r.text[:200]}")
            elif r.json().get("delivered") is True:
                stats.delivered_true += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def progress(
    client: httpx.AsyncClient, key: str, stats: Stats, interval: float, started: float
) -> None:
    """Probe GET /sessions every `interval` s; print a progress line about once a second."""
    last_print = 0.0
    while True:
        took = await probe_sessions(client, key, stats.probe_busy, stats)
        now = time.perf_counter() - started
        if now - last_print >= 1.0:
            last_print = now
            print(
                f"  [{now:5.1f} s] sent {len(stats.post_latency):>5}/{stats.expected}  "
                f"received {len(stats.received):>5}  GET /sessions took {ms(took)} ms",
                flush=True,
            )
        await asyncio.sleep(interval)


async def run(args: argparse.Namespace, base: str, key: str) -> Stats:
    stats = Stats(expected=args.messages)
    limits = httpx.Limits(max_connections=args.streams + args.concurrency + 20)
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, timeout=30) as setup:
            sender = register_session(setup, key, "bench-sender")
            receivers = [
                register_session(setup, key, f"bench-recv-{i:03d}") for i in range(args.streams)
            ]
        print(f"registered {1 + len(receivers)} sessions in {time.perf_counter() - t0:.2f} s")

        t0 = time.perf_counter()
        events = [asyncio.Event() for _ in receivers]
        readers = [
            asyncio.create_task(
                read_stream(
                    client,
                    {
                        "X-AISP-Key": key,
                        "X-AISP-Session": session,
                        "Accept": "text/event-stream",
                    },
                    opened,
                    stats,
                )
            )
            for session, opened in zip(receivers, events, strict=True)
        ]
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(e.wait() for e in events)), args.open_timeout
                )
            live = sum(not r.done() for r in readers)
            print(
                f"opened {live}/{len(readers)} streams (': stream open' seen) in "
                f"{time.perf_counter() - t0:.2f} s"
                + (f"; stream errors: {stats.stream_errors[:3]}" if stats.stream_errors else "")
            )
            if live == 0:
                return stats

            for _ in range(args.idle_probes):
                await probe_sessions(client, key, stats.probe_idle, stats)
            print(f"GET /sessions with {live} idle streams open: {summary(stats.probe_idle)}")

            print(
                f"sending {args.messages} messages round-robin over {len(receivers)} streams, "
                f"{args.concurrency} in flight at a time:"
            )
            started = time.perf_counter()
            prober = asyncio.create_task(progress(client, key, stats, args.probe_interval, started))
            try:
                await send_all(
                    client, key, sender, receivers, args.messages, args.concurrency, stats
                )
                send_seconds = time.perf_counter() - started
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stats.all_in.wait(), args.drain_timeout)
            finally:
                prober.cancel()
                await asyncio.gather(prober, return_exceptions=True)
            print(
                f"  sent in {send_seconds:.2f} s ({len(stats.post_latency) / send_seconds:.0f} "
                f"msg/s); all received after {time.perf_counter() - started:.2f} s"
            )
        finally:
            for r in readers:
                r.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--streams", type=int, default=100, help="concurrent SSE streams")
    parser.add_argument("--messages", type=int, default=500, help="messages to send")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="POST /messages requests in flight at once"
    )
    parser.add_argument(
        "--probe-interval", type=float, default=0.1, help="seconds between GET /sessions probes"
    )
    parser.add_argument(
        "--idle-probes", type=int, default=20, help="GET /sessions probes before sending"
    )
    parser.add_argument(
        "--open-timeout", type=float, default=30.0, help="seconds to wait for streams to open"
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=15.0,
        help="seconds to wait for the last messages after sending",
    )
    args = parser.parse_args()
    if not 1 <= args.streams <= 1000 or not 1 <= args.messages <= 100_000:
        parser.error("need 1 <= --streams <= 1000 and 1 <= --messages <= 100000")
    if not 1 <= args.concurrency <= 100 or args.probe_interval < 0.01:
        parser.error("need 1 <= --concurrency <= 100 and --probe-interval >= 0.01")

    print(
        f"agentyard serve (uvicorn, 1 process), {args.streams} SSE streams, "
        f"{args.messages} messages, client: httpx {httpx.__version__} on asyncio"
    )
    with workdir() as tmp, agentyard_server(tmp) as (base, key):
        stats = asyncio.run(run(args, base, key))

    lat = list(stats.received.values())
    print()
    print(f"POST /messages -> SSE receipt latency: {summary(lat)}")
    print(f"received on streams       : {len(stats.received)}/{args.messages}")
    print(f"sends with delivered: true: {stats.delivered_true}/{args.messages}")
    print(f"POST /messages response   : {summary(stats.post_latency)}")
    print(f"GET /sessions, idle streams : {summary(stats.probe_idle)}")
    print(f"GET /sessions, while sending: {summary(stats.probe_busy)}")
    problems = []
    if stats.post_errors:
        problems.append(f"{len(stats.post_errors)} send errors, e.g. {stats.post_errors[:2]}")
    if stats.stream_errors:
        problems.append(f"{len(stats.stream_errors)} stream errors, e.g. {stats.stream_errors[:2]}")
    if stats.duplicates:
        problems.append(f"{stats.duplicates} duplicate deliveries")
    if stats.foreign_events:
        problems.append(f"{stats.foreign_events} events without a benchmark payload")
    if stats.probe_errors:
        problems.append(f"{stats.probe_errors} failed GET /sessions probes")
    for p in problems:
        print(f"note: {p}")


if __name__ == "__main__":
    main()
