"""Hyphen document uploads: throughput and memory of one large `POST /documents` (multipart,
streamed to the blob store), then its download.

One process, on 127.0.0.1, as `blob_upload.py`: agentyard (`create_app` on uvicorn in a thread,
fresh temporary data dir) and the client (httpx, sending a file of seeded random bytes from
disk, read by chunks, so the client never holds the file either). Prints the wall time, MB/s
and the peak of Python memory allocated meanwhile (`tracemalloc`, reset before the request:
the server's buffers, the client's chunks), for the upload and for the download.

Figures only: nothing asserts on them; the script exits non-zero only when an answer is wrong.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import random
import secrets
import sys
import time
import tracemalloc
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import serve_in_thread, workdir  # noqa: E402

CHUNK = 1 << 20


def write_file(path: Path, size: int, seed: int) -> str:
    """A file of `size` seeded random bytes; its hex SHA-256."""
    rng, digest, left = random.Random(seed), hashlib.sha256(), size
    with path.open("wb") as fh:
        while left > 0:
            data = rng.randbytes(min(CHUNK, left))
            fh.write(data)
            digest.update(data)
            left -= len(data)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=64, help="file size in MiB (default 64)")
    args = parser.parse_args()
    size = args.mib * 1024 * 1024

    from agentyard import surfaces
    from agentyard.app import create_app
    from agentyard.config import Settings
    from agentyard.core import keys
    from agentyard.core.store import connection

    with workdir() as tmp:
        settings = Settings.from_env(
            data_dir=tmp / "data",
            database_url=None,
            redis_url=None,
            jobs_queue=f"bench-{secrets.token_hex(4)}",
        )
        app = create_app(settings)
        source = tmp / "big.bin"
        expected = write_file(source, size, 1)
        with serve_in_thread(app) as root:
            with connection():
                minted = surfaces.get("hyphen").mint(
                    f"bench-{secrets.token_hex(4)}",
                    kind=keys.DEFAULT_KIND,
                    scopes=None,
                    name="bench",
                    base_url=root,
                )
            headers = {"Authorization": f"Bearer {minted.secret}"}
            tracemalloc.start()
            tracemalloc.reset_peak()
            start = time.perf_counter()
            with source.open("rb") as fh:
                r = httpx.post(
                    root + "/hyphen/documents",
                    headers=headers,
                    files={"file": ("big.bin", fh, "application/octet-stream")},
                    timeout=600,
                )
            up_s = time.perf_counter() - start
            _, up_peak = tracemalloc.get_traced_memory()
            if r.status_code != 201 or r.json()["sha256"] != expected:
                raise SystemExit(f"upload answered {r.status_code}: {r.text[:300]}")
            doc_id = r.json()["id"]
            tracemalloc.reset_peak()
            start = time.perf_counter()
            digest, got = hashlib.sha256(), 0
            with httpx.stream(
                "GET", root + f"/hyphen/documents/{doc_id}/download", headers=headers, timeout=600
            ) as down:
                for chunk in down.iter_bytes(CHUNK):
                    digest.update(chunk)
                    got += len(chunk)
            down_s = time.perf_counter() - start
            _, down_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            if got != size or digest.hexdigest() != expected:
                raise SystemExit("the download does not match the upload")
    mb = size / 1e6
    print(f"hyphen documents: one {args.mib} MiB file, {platform.python_version()}, SQLite")
    for label, seconds, peak in (("upload", up_s, up_peak), ("download", down_s, down_peak)):
        print(
            f"  {label:8} {seconds:7.2f} s  {mb / seconds:8.1f} MB/s"
            f"  peak traced {peak / 2**20:6.1f} MiB"
        )


if __name__ == "__main__":
    main()
