"""Harnesslayer bundles: upload -> complete -> sync of a 200-file version across 100 profiles.

Everything runs in this one process, on 127.0.0.1, as `gateway_overhead.py` does: agentyard
(`create_app` on uvicorn in a thread, with a temporary data dir: a fresh SQLite store and
blob directory unless `--database-url`/`--redis-url` are given), its background-job consumer
(`jobs.start_consumer`, `--job-workers` threads, polling every 10 ms) and the client (httpx).

Set-up (timed but not the point): an organization and its key (domain calls), an app, version 1
(`--files` text files of about `--file-bytes` bytes each, published through the API), and
`--profiles` profiles (rows made directly, as the tests do), each given a state derived from
version 1 with `--profile-edits` edited files (near their top; registered with the domain's
`new_state`, the bytes put in the blob store: uploading 100 x 200 files over HTTP would only
measure PUTs again).

Timed:
- version 2 through the API: `POST /v1/version/upload` (all files declared), one PUT per file
  to its signed URL (`--put-concurrency` client threads), `POST .../complete`. Version 2 edits
  `--version-edits` files near their bottom; a share of them (`--overlap`) are files the
  profiles edited too, so the sync line-merges those (different regions, no conflict), and
  `--conflicting` profiles also edited the same last line, which gives a real conflict each.
- `POST /v1/version/sync` (`--strategy`, default smart) polled with `GET /v1/sync/{id}` every
  10 ms until completed: queue delay (createdAt -> startedAt), run time (startedAt ->
  completedAt, server clock, ms) and run time per profile; the client's wall time to see it
  completed. Per-profile p50/p99/max come from timing each profile inside the job (a
  benchmark-only wrapper around the job's per-profile step, installed for this run).
- a second sync right after: every state already derives from version 2, so it shows the
  per-profile cost of finding nothing to do.

Figures only: nothing asserts on timings; the script exits non-zero only when set-up fails
or an answer is wrong (a sync that does not complete, counts that do not add up).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import logging
import os
import platform
import random
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import percentile, serve_in_thread, workdir  # noqa: E402


def sri(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def text_file(index: int, size: int) -> list[str]:
    """About `size` bytes of numbered lines (about 50 bytes each)."""
    count = max(4, size // 50)
    return [f"file {index:04d} line {n:04d}: lorem ipsum dolor sit amet\n" for n in range(count)]


def join(lines: list[str]) -> bytes:
    return "".join(lines).encode()


@contextlib.contextmanager
def agentyard_in_process(data_dir: Path, args: argparse.Namespace) -> Iterator[str]:
    """create_app(settings) on uvicorn in a thread (as tests/conftest.py); yields the base URL."""
    from agentyard.app import create_app
    from agentyard.config import Settings

    settings = Settings.from_env(
        data_dir=data_dir,
        database_url=args.database_url,
        redis_url=args.redis_url,
        jobs_queue=f"bench-{secrets.token_hex(4)}",
    )
    app = create_app(settings)
    with serve_in_thread(app) as base:
        yield base + "/harnesslayer"


def make_org() -> str:
    """A fresh organization; its `dk-` key."""
    from agentyard.core.store import connection
    from agentyard.harnesslayer import orgs
    from agentyard.harnesslayer.auth import create_user

    with connection():
        user, _ = create_user("bench")
        _, key, _ = orgs.create(user, "Bench", f"bench-{secrets.token_hex(4)}", False)
    return key


def check(r: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if r.status_code != status:
        raise RuntimeError(f"{what} answered {r.status_code}: {r.text[:300]}")
    return r.json()["data"] if r.content else {}


class Timings:
    """Seconds per call of a wrapped function (benchmark-only instrumentation)."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def wrap(self, owner: Any, name: str) -> Iterator[None]:
        original = getattr(owner, name)

        def timed(*a: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                with self.lock:
                    self.values.append(time.perf_counter() - start)

        setattr(owner, name, timed)
        try:
            yield
        finally:
            setattr(owner, name, original)


def publish(
    client: httpx.Client, key: str, app_id: str, files: dict[str, bytes], concurrency: int
) -> dict[str, Any]:
    """Upload, PUT every file, complete; the version and the timings (seconds)."""
    headers = {"Authorization": f"Bearer {key}"}
    body = {"appId": app_id, "files": [{"name": n, "hash": sri(b)} for n, b in files.items()]}
    t0 = time.perf_counter()
    upload = check(client.post("/v1/version/upload", headers=headers, json=body), 201, "upload")
    t1 = time.perf_counter()
    put_times: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def put(item: dict[str, Any]) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=60)
        start = time.perf_counter()
        r = local.client.put(
            item["url"],
            content=files[item["name"]],
            headers={"Content-Type": "application/octet-stream"},
        )
        if r.status_code != 204:
            raise RuntimeError(f"PUT {item['name']} answered {r.status_code}: {r.text[:200]}")
        with lock:
            put_times.append(time.perf_counter() - start)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, upload["uploadUrls"]))
    t2 = time.perf_counter()
    version = check(
        client.post(
            f"/v1/version/upload/{upload['uploadId']}/complete",
            headers=headers,
            json={"appId": app_id, "versionId": upload["versionId"]},
        ),
        200,
        "complete",
    )
    t3 = time.perf_counter()
    return {
        "version": version,
        "upload": t1 - t0,
        "puts": t2 - t1,
        "put_times": put_times,
        "complete": t3 - t2,
    }


def run_sync(client: httpx.Client, key: str, app_id: str, strategy: str) -> dict[str, Any]:
    from agentyard.core import clock

    headers = {"Authorization": f"Bearer {key}"}
    t0 = time.perf_counter()
    job = check(
        client.post(
            "/v1/version/sync", headers=headers, json={"appId": app_id, "strategy": strategy}
        ),
        202,
        "sync",
    )
    deadline = time.monotonic() + 600
    while job["status"] not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"sync {job['id']} did not finish: {job}")
        time.sleep(0.01)
        job = check(client.get(f"/v1/sync/{job['id']}", headers=headers), 200, "get sync")
    wall = time.perf_counter() - t0
    if job["status"] != "completed":
        raise RuntimeError(f"sync failed: {job}")
    created, started, done = (
        clock.parse(job[k]) for k in ("createdAt", "startedAt", "completedAt")
    )
    return {
        "job": job,
        "wall": wall,
        "queued": (started - created).total_seconds(),
        "run": (done - started).total_seconds(),
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--files", type=int, default=200, help="files per bundle")
    parser.add_argument("--file-bytes", type=int, default=2000, help="about this size each")
    parser.add_argument("--profiles", type=int, default=100)
    parser.add_argument("--profile-edits", type=int, default=3, help="files each profile edits")
    parser.add_argument("--version-edits", type=int, default=10, help="files version 2 edits")
    parser.add_argument(
        "--overlap",
        type=float,
        default=0.5,
        help="share of the version's edited files that every profile edited too",
    )
    parser.add_argument(
        "--conflicting",
        type=int,
        default=10,
        help="profiles that also edit the last line of an overlapping file (a conflict each)",
    )
    parser.add_argument(
        "--strategy", default="smart", choices=["smart", "incoming", "current", "manual"]
    )
    parser.add_argument("--put-concurrency", type=int, default=8)
    parser.add_argument("--job-workers", type=int, default=1, help="job consumer threads")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of SQLite")
    parser.add_argument("--redis-url", default=None, help="Redis job queue instead of SQLite")
    args = parser.parse_args()
    if not 1 <= args.files <= 1000 or args.profiles < 1 or args.file_bytes < 100:
        parser.error("need 1 <= --files <= 1000, --profiles >= 1, --file-bytes >= 100")
    if not 0 <= args.profile_edits <= args.files or not 1 <= args.version_edits <= args.files:
        parser.error("--profile-edits and --version-edits must fit in --files")
    if not 0 <= args.conflicting <= args.profiles or not 0 <= args.overlap <= 1:
        parser.error("need 0 <= --conflicting <= --profiles and 0 <= --overlap <= 1")

    logging.getLogger("agentyard").setLevel(logging.ERROR)
    rng = random.Random(args.seed)
    names = [f"skills/{i // 20:02d}/file-{i:04d}.md" for i in range(args.files)]
    base_lines = {name: text_file(i, args.file_bytes) for i, name in enumerate(names)}
    v1_files = {name: join(lines) for name, lines in base_lines.items()}

    # Which files the version edits; `overlap` of them are among every profile's edits.
    version_edited = rng.sample(names, args.version_edits)
    shared = version_edited[: min(args.profile_edits, round(args.overlap * args.version_edits))]
    v2_files = dict(v1_files)
    for name in version_edited:
        lines = list(base_lines[name])
        lines[-1] = f"edited by version 2: {name}\n"
        v2_files[name] = join(lines)

    with workdir() as tmp:
        data_dir = tmp / "agentyard-data"
        data_dir.mkdir()
        with agentyard_in_process(data_dir, args) as base:
            from agentyard.core import blobs, clock, ids, jobs
            from agentyard.core.store import connection, write
            from agentyard.harnesslayer import bundles
            from agentyard.harnesslayer import sync as sync_domain
            from agentyard.harnesslayer.models import Organization, Profile

            jobs.start_consumer(
                workers=args.job_workers, poll_interval=0.01, scheduler_interval=0.05
            )
            client = httpx.Client(base_url=base, timeout=120)
            try:
                setup_start = time.perf_counter()
                key = make_org()
                app = check(
                    client.post(
                        "/v1/app/create",
                        headers={"Authorization": f"Bearer {key}"},
                        json={"slug": "bench-app", "type": "claude"},
                    ),
                    201,
                    "app create",
                )
                v1 = publish(client, key, app["id"], v1_files, args.put_concurrency)
                profile_ids: list[str] = []
                store = blobs.store()
                with connection():
                    org = Organization.get_by_id(app["organizationId"])
                    for n in range(args.profiles):
                        edited = set(shared)
                        others = [x for x in names if x not in edited]
                        edited |= set(rng.sample(others, args.profile_edits - len(shared)))
                        files = []
                        for name in names:
                            data = v1_files[name]
                            if name in edited:
                                lines = list(base_lines[name])
                                lines[0] = f"edited by profile {n}: {name}\n"
                                if n < args.conflicting and shared and name == shared[0]:
                                    lines[-1] = f"profile {n} also edits the last line\n"
                                data = join(lines)
                            files.append(
                                {"name": name, "digest": store.put(data), "size": len(data)}
                            )
                        now = clock.now()
                        with write():
                            profile = Profile.create(
                                id=ids.new_id("prof", "-"),
                                app=app["id"],
                                identifier=f"user-{n}@bench.example",
                                created_at=now,
                                updated_at=now,
                            )
                            bundles.new_state(
                                org,
                                profile,
                                state_id=ids.new_id("state", "-"),
                                source="upload",
                                status="ready",
                                files=files,
                                now=now,
                            )
                        profile_ids.append(profile.id)
                setup = time.perf_counter() - setup_start

                v2 = publish(client, key, app["id"], v2_files, args.put_concurrency)
                per_profile = Timings()
                with per_profile.wrap(sync_domain._Syncer, "profile"):
                    first = run_sync(client, key, app["id"], args.strategy)
                first_times = list(per_profile.values)
                per_profile.values.clear()
                with per_profile.wrap(sync_domain._Syncer, "profile"):
                    second = run_sync(client, key, app["id"], args.strategy)
                second_times = list(per_profile.values)
                conflicts = check(
                    client.get(
                        "/v1/conflict/list",
                        headers={"Authorization": f"Bearer {key}"},
                        params={"appId": app["id"], "pageSize": 1},
                    ),
                    200,
                    "conflicts",
                )["total"]
            finally:
                client.close()
                jobs.stop_consumer()

    counts = first["job"]["counts"]
    if sum(counts[k] for k in ("synced", "unchanged", "conflicted", "failed")) != counts["total"]:
        raise RuntimeError(f"sync counts do not add up: {counts}")
    total_bytes = sum(len(b) for b in v2_files.values())
    store_kind = "PostgreSQL" if args.database_url else "SQLite"
    queue_kind = "Redis" if args.redis_url else "SQLite"
    print(
        f"python        : {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}"
    )
    print(
        "layout        : one process: agentyard (create_app on uvicorn in a thread, "
        f"{store_kind} store, {queue_kind} job queue, {args.job_workers} job worker thread(s)), "
        "httpx client"
    )
    print(
        f"bundle        : {args.files} files, {total_bytes} bytes ({total_bytes // args.files} "
        f"per file); version 2 edits {args.version_edits} files"
    )
    print(
        f"profiles      : {args.profiles}, each a state from version 1 with "
        f"{args.profile_edits} edited files ({len(shared)} of them also edited by version 2, "
        f"other lines); {args.conflicting} profiles edit the same line as version 2 in one file"
    )
    print(f"set-up        : {setup:.2f} s (org, app, version 1 via the API, profiles and states)")
    print()
    print(f"version 2 upload ({args.files} files, PUT concurrency {args.put_concurrency}):")
    puts = v2["put_times"]
    print(f"  POST /v1/version/upload       {ms(v2['upload']):>9} ms")
    print(
        f"  {len(puts)} PUTs                     {ms(v2['puts']):>9} ms total  "
        f"(per PUT p50 {ms(percentile(puts, 50))} ms, p99 {ms(percentile(puts, 99))} ms)"
    )
    print(f"  POST .../complete             {ms(v2['complete']):>9} ms")
    print(
        f"  upload -> complete            {ms(v2['upload'] + v2['puts'] + v2['complete']):>9} ms"
        f"  (version 1, set-up: "
        f"{ms(v1['upload'] + v1['puts'] + v1['complete'])} ms)"
    )
    print()
    for label, result, times in (
        (f"sync ({args.strategy}), version 1 -> 2", first, first_times),
        ("sync again (nothing to do)", second, second_times),
    ):
        job = result["job"]
        c = job["counts"]
        n = max(1, c["total"])
        print(f"{label}: {c['total']} profiles")
        print(
            f"  counts: synced {c['synced']}, conflicted {c['conflicted']}, "
            f"unchanged {c['unchanged']}, failed {c['failed']}"
        )
        print(f"  queued -> started   {ms(result['queued']):>9} ms (server clock)")
        print(
            f"  started -> done     {ms(result['run']):>9} ms = {ms(result['run'] / n)} ms "
            "per profile (server clock)"
        )
        print(f"  client wall time    {ms(result['wall']):>9} ms (POST to seeing it completed)")
        if times:
            print(
                f"  per profile (in the job): mean {ms(statistics.fmean(times))} ms, "
                f"p50 {ms(percentile(times, 50))} ms, p99 {ms(percentile(times, 99))} ms, "
                f"max {ms(max(times))} ms"
            )
    print()
    print(f"conflict records: {conflicts}")


if __name__ == "__main__":
    main()
