"""Harnesslayer signed-URL uploads: memory and throughput of one large file PUT, streamed to
disk (how the blob route works) against the same PUT buffered by the body guard first (how
every other route, and this one before, takes a body), in the same run.

One process, on 127.0.0.1, as `bundle_sync.py`: agentyard (`create_app` on uvicorn in a
thread, fresh temporary data dir) and the client (httpx, sending the file chunked from a
generator of seeded random 64 KiB chunks, so the client never holds the file either).

For each mode, one file of `--mib` MiB (a different one each time, so neither is
deduplicated) is declared with `POST /v1/version/upload` and PUT to its signed URL; the
script prints the wall time, MB/s and the peak of Python memory allocated meanwhile
(`tracemalloc`, reset before each PUT: the server's buffers, the client's chunks). The
`buffered` mode re-registers the route's body rule without `streamed` for its run.

Figures only: nothing asserts on them; the script exits non-zero only when an answer is wrong.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import platform
import random
import re
import secrets
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import serve_in_thread, workdir  # noqa: E402

CHUNK = 65536
MOUNT = "/harnesslayer"


def chunks(seed: int, size: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    left = size
    while left > 0:
        n = min(CHUNK, left)
        yield rng.randbytes(n)
        left -= n


def sri_of(seed: int, size: int) -> str:
    digest = hashlib.sha256()
    for chunk in chunks(seed, size):
        digest.update(chunk)
    return "sha256-" + base64.b64encode(digest.digest()).decode()


def upload_once(base: str, key: str, app_id: str, seed: int, size: int) -> tuple[float, int]:
    """Declare and PUT one file; (seconds for the PUT, peak traced bytes during it)."""
    headers = {"Authorization": f"Bearer {key}"}
    declared = [{"name": f"big-{seed}.bin", "hash": sri_of(seed, size)}]
    r = httpx.post(
        base + "/v1/version/upload",
        headers=headers,
        json={"appId": app_id, "files": declared},
        timeout=30,
    )
    if r.status_code != 201:
        raise RuntimeError(f"upload answered {r.status_code}: {r.text[:300]}")
    url = r.json()["data"]["uploadUrls"][0]["url"]
    tracemalloc.reset_peak()
    start = time.perf_counter()
    put = httpx.put(
        url,
        content=chunks(seed, size),
        headers={"Content-Type": "application/octet-stream"},
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    if put.status_code != 204:
        raise RuntimeError(f"PUT answered {put.status_code}: {put.text[:300]}")
    return elapsed, peak


@contextlib.contextmanager
def body_rule(streamed: bool) -> Iterator[None]:
    """The blob route's body rule, streamed or buffered, for the duration."""
    from agentyard.core.http_guard import BodyLimit, register_limit
    from agentyard.harnesslayer import bundles

    pattern = re.escape(MOUNT) + bundles.UPLOAD_PATH_PATTERN
    register_limit(pattern, BodyLimit(bundles.max_file_bytes, streamed=streamed))
    try:
        yield
    finally:
        register_limit(pattern, BodyLimit(bundles.max_file_bytes, streamed=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=64, help="file size in MiB (default 64)")
    args = parser.parse_args()
    size = args.mib * 1024 * 1024

    from agentyard.app import create_app
    from agentyard.config import Settings
    from agentyard.core.store import connection
    from agentyard.harnesslayer import orgs
    from agentyard.harnesslayer.auth import create_user

    with workdir() as tmp:
        settings = Settings.from_env(
            data_dir=tmp / "data",
            database_url=None,
            redis_url=None,
            jobs_queue=f"bench-{secrets.token_hex(4)}",
        )
        app = create_app(settings)
        with serve_in_thread(app) as root:
            base = root + MOUNT
            with connection():
                user, _ = create_user("bench")
                _, key, _ = orgs.create(user, "Bench", f"bench-{secrets.token_hex(4)}", False)
            made = httpx.post(
                base + "/v1/app/create",
                headers={"Authorization": f"Bearer {key}"},
                json={"slug": "bench", "type": "claude"},
            )
            app_id = made.json()["data"]["id"]
            tracemalloc.start()
            rows = []
            for seed, streamed in ((1, True), (2, False)):
                with body_rule(streamed):
                    elapsed, peak = upload_once(base, key, app_id, seed, size)
                rows.append(("streamed" if streamed else "buffered", elapsed, peak))
            tracemalloc.stop()

    print(f"python        : {platform.python_version()} on {platform.platform()}")
    print(f"file          : {args.mib} MiB, sent chunked in {CHUNK // 1024} KiB chunks")
    print()
    print(f"{'mode':<10} {'PUT s':>8} {'MB/s':>8} {'peak Python MiB':>16}")
    for mode, elapsed, peak in rows:
        rate = size / elapsed / 1e6
        print(f"{mode:<10} {elapsed:>8.2f} {rate:>8.1f} {peak / 2**20:>16.1f}")


if __name__ == "__main__":
    main()
