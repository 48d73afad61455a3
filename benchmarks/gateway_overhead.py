"""Added latency of `POST /hasp-ai/v1/messages` over a local fake Anthropic upstream.

Everything runs in this one process, on 127.0.0.1: the fake upstream (`FakeAnthropic` from
tests/llm/fakes.py, a Flask app on werkzeug's threaded server, answering every request with
one fixed reply), agentyard (`create_app` on uvicorn in a thread, as tests/conftest.py does,
with a temporary SQLite data dir) and the client (httpx, one keep-alive `httpx.Client` per
client thread). For each concurrency the same ~1 KB clinical note (a name, an MRN, dates, a
phone number...) is sent, non-streaming:

- directly to the fake upstream (`POST {fake}/v1/messages`): the baseline;
- through the gateway with the PHI scan OFF: the process's guard is patched for that cell so
  that `analyze_many` finds nothing without running Presidio (a benchmark-only monkeypatch;
  the product has no switch to turn the scanner off, and the org's PHI mode stays `redact`);
- through the gateway with the PHI scan ON: the real guard (Presidio + spaCy).

It prints p50/p99/mean latency and req/s per cell and the gateway's added p50/p99 over the
direct baseline of the same concurrency, streaming rows (concurrency 1; whole stream read, plus
time to first bytes), and, after the timed cells (so the instrumentation never touches them), a
breakdown of where a gateway request's time goes: extra requests with the gateway's stages
wrapped in timers (PHI on at concurrency 1, PHI off at the highest concurrency). Figures only:
nothing asserts on timings; the script exits non-zero only when set-up fails.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import itertools
import logging
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from _common import agentyard_server, percentile, serve_in_thread, workdir  # noqa: E402

MODEL = "claude-sonnet-4-6"
MAX_TOKENS = 512

# ~1 KB of synthetic clinical note; every identifier below is invented.
PROMPT = (
    "Please summarize this discharge note for the referring physician in three bullet points.\n"
    "\n"
    "Patient: Margaret O'Connell, MRN: 48213907, DOB 03/14/1958.\n"
    "Admitted 02/02/2026 to Riverside General with community-acquired pneumonia of the right "
    "lower lobe. Presented with three days of productive cough, fever to 38.9 C and pleuritic "
    "chest pain. Chest X-ray showed right lower lobe consolidation; WBC 14.2, CRP 118. Started "
    "on ceftriaxone 1 g IV daily and azithromycin 500 mg, switched to oral amoxicillin-"
    "clavulanate on day 3 once afebrile for 48 hours. Oxygen weaned from 2 L nasal cannula to "
    "room air by day 4, saturations 95-97%. Comorbidities: type 2 diabetes on metformin, "
    "hypertension on lisinopril; HbA1c 7.4%. Glucose ran 8-13 mmol/L on sliding scale.\n"
    "Discharged 02/07/2026 in stable condition to complete 7 days of antibiotics. Follow-up "
    "with Dr. Alan Whitaker in two weeks with a repeat chest X-ray at six weeks; patient can be "
    "reached at (617) 555-0142. Daughter Susan O'Connell is the emergency contact.\n"
)

REPLY_TEXT = (
    "- Community-acquired right lower lobe pneumonia, treated with IV ceftriaxone and "
    "azithromycin, then oral amoxicillin-clavulanate; afebrile and on room air by day 4.\n"
    "- Type 2 diabetes and hypertension stable; glucose managed on a sliding scale.\n"
    "- Follow-up in two weeks, repeat chest X-ray at six weeks."
)

BAA = {
    "version": "2026-04-01",
    "signer_name": "Bench Runner",
    "signer_title": "Privacy Officer",
    "signer_email": "bench@clinic.example",
    "agree": True,
}


# --- the load generator ---------------------------------------------------------------------


@dataclass
class Target:
    """Where one cell's requests go."""

    label: str
    url: str
    headers: dict[str, str]


@dataclass
class Result:
    label: str
    concurrency: int
    latencies: list[float]  # seconds, successful requests only
    seconds: float  # wall time of the timed run
    errors: int
    first_bytes: list[float]  # streaming: seconds to the first body bytes

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.latencies) if self.latencies else float("nan")

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds > 0 else float("nan")


def body(stream: bool, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        "messages": messages or [{"role": "user", "content": PROMPT}],
    }
    if stream:
        payload["stream"] = True
    return payload


def distinct_prompt(n: int) -> str:
    """PROMPT with its MRN, phone number and admission day made unique by ``n``."""
    return (
        PROMPT.replace("48213907", f"{48213907 + n * 7919:08d}"[-8:])
        .replace("555-0142", f"555-{n % 10000:04d}")
        .replace("02/02/2026", f"{1 + n % 12:02d}/{1 + n // 12 % 28:02d}/2026")
    )


CONVERSATION_TURNS = 10
CONVERSATIONS_AT_ONCE = 8


def conversation_messages(n: int) -> list[dict[str, Any]]:
    """Request ``n`` of a run of 10-turn conversations, 8 at a time (requests in flight
    together belong to different conversations): each opens with its own note and re-sends
    the whole history on every turn, as clients do."""
    rnd, slot = divmod(n, CONVERSATIONS_AT_ONCE)
    block, turn = divmod(rnd, CONVERSATION_TURNS)
    conversation = block * CONVERSATIONS_AT_ONCE + slot
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": distinct_prompt(10_000 + conversation)}
    ]
    for t in range(1, turn + 1):
        messages.append({"role": "assistant", "content": REPLY_TEXT})
        messages.append(
            {
                "role": "user",
                "content": f"Follow-up {t}: what should Dr. Whitaker check at visit {t} "
                f"(conversation {conversation})?",
            }
        )
    return messages


# PHI-on workloads: name -> (row label suffix, payload of the n-th request)
WORKLOADS: dict[str, tuple[str, Callable[[int, bool], dict[str, Any]]]] = {
    "repeat": ("repeat prompt", lambda n, stream: body(stream)),
    "cold": (
        "cold, every prompt distinct",
        lambda n, stream: body(stream, [{"role": "user", "content": distinct_prompt(n)}]),
    ),
    "conversation": (
        "10-turn conversations",
        lambda n, stream: body(stream, conversation_messages(n)),
    ),
}


def one_request(
    client: httpx.Client, target: Target, payload: dict[str, Any], stream: bool
) -> tuple[bool, float, float]:
    """(ok, seconds to the whole answer, seconds to its first bytes)."""
    start = time.perf_counter()
    if not stream:
        r = client.post(target.url, headers=target.headers, json=payload)
        elapsed = time.perf_counter() - start
        ok = r.status_code == 200 and r.json().get("type") == "message"
        return ok, elapsed, elapsed
    first = float("nan")
    data = b""
    with client.stream("POST", target.url, headers=target.headers, json=payload) as r:
        for chunk in r.iter_bytes():
            if first != first:  # nan: first chunk
                first = time.perf_counter() - start
            data += chunk
        status = r.status_code
    elapsed = time.perf_counter() - start
    return status == 200 and b"event: message_stop" in data, elapsed, first


def run_cell(
    target: Target,
    concurrency: int,
    requests: int,
    warmup: int,
    stream: bool,
    timeout: float,
    payloads: Callable[[int, bool], dict[str, Any]] | None = None,
) -> Result:
    """`warmup` then `requests` requests, `concurrency` keep-alive connections in flight.

    ``payloads(n, stream)``: the body of the n-th request (default: the same `body` each time).
    """
    counter = itertools.count(_RUN_OFFSET[0])
    _RUN_OFFSET[0] += 1_000_000  # every cell gets its own distinct prompts

    def next_payload() -> dict[str, Any]:
        return payloads(next(counter), stream) if payloads else body(stream)

    clients = [httpx.Client(timeout=timeout) for _ in range(concurrency)]
    try:
        # Warm-up: opens every connection and heats the code paths; not counted.
        per_client = max(1, -(-warmup // concurrency)) if warmup > 0 else 0
        for _ in range(per_client):
            _parallel(clients, lambda c: one_request(c, target, next_payload(), stream))

        latencies: list[float] = []
        first_bytes: list[float] = []
        errors = [0]
        lock = threading.Lock()
        remaining = [requests]

        def loop(client: httpx.Client) -> None:
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                try:
                    ok, elapsed, first = one_request(client, target, next_payload(), stream)
                except httpx.HTTPError:
                    ok, elapsed, first = False, 0.0, 0.0
                with lock:
                    if ok:
                        latencies.append(elapsed)
                        first_bytes.append(first)
                    else:
                        errors[0] += 1

        start = time.perf_counter()
        threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    finally:
        for c in clients:
            c.close()
    return Result(target.label, concurrency, latencies, seconds, errors[0], first_bytes)


_RUN_OFFSET = [0]


def _parallel(clients: list[httpx.Client], fn: Callable[[httpx.Client], object]) -> None:
    threads = [threading.Thread(target=fn, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# --- servers and set-up ---------------------------------------------------------------------


@contextlib.contextmanager
def fake_upstream() -> Iterator[Any]:
    """tests/llm/fakes.py's FakeAnthropic; every request gets the same successful reply."""
    from tests.llm.fakes import FakeAnthropic, Reply

    fake = FakeAnthropic(api_key="bench-upstream-key")
    # Nothing is enqueued: `default_reply` answers every request. Streams send 12-char deltas.
    fake.default_reply = Reply(text=REPLY_TEXT, input_tokens=290, output_tokens=70, chunk=12)
    try:
        yield fake
    finally:
        fake.close()


@contextlib.contextmanager
def agentyard_in_process(data_dir: Path) -> Iterator[str]:
    """create_app(settings) on uvicorn in a thread (as tests/conftest.py); yields the base URL."""
    from agentyard.app import create_app
    from agentyard.config import Settings

    settings = Settings.from_env(
        data_dir=data_dir,
        database_url=None,
        redis_url=None,
        hasp_requests_per_minute=10**9,
        hasp_credit_allotment=10**15,
        llm_max_retries=0,
    )
    app = create_app(settings)
    with serve_in_thread(app) as base:
        yield base


@contextlib.contextmanager
def agentyard_served(tmp: Path, fake: Any) -> Iterator[str]:
    """`agentyard serve --workers 1` (one uvicorn process and its PHI scanners) in front of
    the fake upstream; this process opens the same SQLite data dir (to create the org). Yields
    the base URL."""
    from agentyard.core.store import open_database

    env = {
        "AGENTYARD_LOG_LEVEL": "WARNING",  # no access lines, as the in-process server
        "AGENTYARD_LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": fake.api_key,
        "ANTHROPIC_BASE_URL": fake.url,
        "AGENTYARD_LLM_MAX_RETRIES": "0",
        "AGENTYARD_HASP_REQUESTS_PER_MINUTE": str(10**9),
        "AGENTYARD_HASP_CREDIT_ALLOTMENT": str(10**15),
    }
    with agentyard_server(tmp, workers=1, env=env, settle=True) as (base, _):
        open_database(None, tmp / "agentyard-data")
        yield base


def make_org(base: str) -> str:
    """A fresh org with an all-scope key and the BAA accepted; its key."""
    from agentyard.core import keys
    from agentyard.core.store import connection
    from agentyard.hasp import SURFACE
    from agentyard.hasp.auth import SCOPES, new_secret

    with connection():
        tenant, _ = keys.get_or_create_tenant(SURFACE, f"bench-{secrets.token_hex(4)}")
        _, secret = keys.create_key(tenant, new_secret, name="bench", scopes=list(SCOPES))
    r = httpx.post(
        f"{base}/hasp-ai/v1/compliance/baa/acceptances",
        headers={"Authorization": f"Bearer {secret}"},
        json=BAA,
        timeout=30,
    )
    if r.status_code != 201:
        raise RuntimeError(f"accepting the BAA answered {r.status_code}: {r.text[:300]}")
    return secret


@contextlib.contextmanager
def phi_scan_off() -> Iterator[None]:
    """BENCHMARK-ONLY: the process's guard finds nothing, without running Presidio."""
    from agentyard.phi.guard import get_guard

    guard = get_guard()

    def analyze_many(texts: Any, timeout: float = 0.0) -> list[list[Any]]:
        return [[] for _ in texts]

    guard.analyze_many = analyze_many  # type: ignore[method-assign]
    try:
        yield
    finally:
        del guard.analyze_many


def check_setup(fake: Any, direct: Target, gateway: Target, scan_off: bool = True) -> str:
    """One request each way answers 200, and the upstream saw the prompt redacted (scan on)
    or, with ``scan_off``, unchanged (scan off); the redacted prompt the upstream got."""
    with httpx.Client(timeout=60) as client:
        for target in (direct, gateway):
            r = client.post(target.url, headers=target.headers, json=body(False))
            if r.status_code != 200 or r.json().get("type") != "message":
                raise RuntimeError(f"{target.label}: {r.status_code} {r.text[:300]}")
        sent = fake.requests[-1].json["messages"][0]["content"]
        if "48213907" in sent or "[" not in sent:
            raise RuntimeError(f"PHI scan on, but the upstream got the MRN:\n{sent}")
        if not scan_off:
            return sent
        with phi_scan_off():
            r = client.post(gateway.url, headers=gateway.headers, json=body(False))
        if r.status_code != 200 or fake.requests[-1].json["messages"][0]["content"] != PROMPT:
            raise RuntimeError(f"PHI scan off: {r.status_code}, upstream got a changed prompt")
    return sent


# --- where the time goes --------------------------------------------------------------------


class Breakdown:
    """Times the gateway's stages by wrapping them (module attributes, looked up per call)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        times = self.times[label]

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times.append(time.perf_counter() - start)

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                times.append(time.perf_counter() - start)

        setattr(owner, name, timed_async if inspect.iscoroutinefunction(original) else timed)
        had_own = name in getattr(owner, "__dict__", {})
        self._undo.append(
            lambda: setattr(owner, name, original) if had_own else delattr(owner, name)
        )

    def __enter__(self) -> Breakdown:
        from agentyard.core import keys
        from agentyard.hasp import auth
        from agentyard.hasp.ai import credits, gateway
        from agentyard.phi.guard import get_guard

        guard = get_guard()
        self.wrap(keys, "lookup", "key lookup (cache, else store)")
        self.wrap(auth, "rate_limit", "rate limit")
        self.wrap(gateway, "prepare", "gateway.prepare (threadpool body)")
        self.wrap(guard, "redact", "  of which PHI scan + redaction (guard.redact)")
        self.wrap(guard, "analyze_many", "    of which analysis (analyze_many)")
        self.wrap(credits, "reserve", "  of which credits.reserve")
        self.wrap(gateway.provider(), "create", "upstream call (provider.create)")
        self.wrap(gateway, "finish", "gateway.finish (settle, record, audit)")
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self._undo):
            undo()


# --- output ---------------------------------------------------------------------------------


# --- LiteLLM side by side --------------------------------------------------------------------


def litellm_venv(data_root: Path) -> Path | None:
    """A venv with ``litellm[proxy]`` under ``data_root`` (created once); None if pip fails."""
    venv = data_root / "bench-litellm-venv"
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe
    print(f"installing litellm[proxy] into {venv} (once) ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"],
            check=True,
            timeout=1800,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"LiteLLM rows skipped: could not install litellm[proxy] ({exc})")
        return None
    return exe if exe.exists() else None


@contextlib.contextmanager
def _no_litellm(fake: Any, tmp: Path) -> Iterator[None]:
    yield None


@contextlib.contextmanager
def litellm_proxy(fake: Any, tmp: Path) -> Iterator[Target | None]:
    """The LiteLLM proxy (no guardrail, no database, logging off) in front of the same fake
    upstream; yields its /v1/messages target, or None when it cannot be installed/started."""
    from _common import Server, free_port

    data_root = Path(os.environ.get("AGENTYARD_DATA_DIR") or BENCH.parent / "data")
    exe = litellm_venv(data_root)
    if exe is None:
        yield None
        return
    config = tmp / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: anthropic/{MODEL}\n"
        f"      api_base: {fake.url}\n"
        f"      api_key: {fake.api_key}\n"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "  turn_off_message_logging: true\n"
    )
    port = free_port()
    master_key = f"sk-{secrets.token_hex(32)}"  # the proxy refuses to start without one
    env = {
        **os.environ,
        "LITELLM_LOG": "ERROR",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MASTER_KEY": master_key,
    }
    server = Server(
        "litellm",
        [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        env,
        tmp / "litellm.log",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            server.wait_ready(f"{base}/health/liveliness", timeout=180)
        except Exception as exc:
            print(f"LiteLLM rows skipped: the proxy did not start (...{str(exc)[-600:]})")
            yield None
            return
        target = Target(
            "LiteLLM proxy", f"{base}/v1/messages", {"Authorization": f"Bearer {master_key}"}
        )
        r = httpx.post(target.url, headers=target.headers, json=body(False), timeout=60)
        if r.status_code != 200:
            print(f"LiteLLM rows skipped: /v1/messages answered {r.status_code}: {r.text[:200]}")
            yield None
            return
        yield target
    finally:
        server.stop()


def print_ratios(results: list[Result]) -> None:
    """agentyard (PHI on) against LiteLLM (no guardrail), per workload and concurrency."""
    print()
    by = {(r.label, r.concurrency): r for r in results}
    direct = {r.concurrency: r for r in results if r.label == "direct upstream"}
    for r in results:
        if not r.label.startswith("gateway, PHI on"):
            continue
        lite = by.get(("LiteLLM proxy, no guardrail", r.concurrency))
        base = direct.get(r.concurrency)
        if lite is None or base is None:
            continue
        added, lite_added = r.p50 - base.p50, lite.p50 - base.p50
        print(
            f"ratio agentyard/LiteLLM ({r.label[len('gateway, PHI on, ') :]}, concurrency "
            f"{r.concurrency}): added p50 {added * 1000:.2f} / {lite_added * 1000:.2f} ms = "
            f"{added / lite_added if lite_added > 0 else float('nan'):.2f}; req/s "
            f"{r.rps:.1f} / {lite.rps:.1f} = {r.rps / lite.rps if lite.rps else float('nan'):.2f}"
        )


def fmt(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.2f}"


def table(results: list[Result], baseline: dict[tuple[int, bool], Result], stream: bool) -> None:
    head = (
        f"{'target':<32} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
        f"{'req/s':>8} {'n':>5} {'err':>4}   {'added p50':>9} {'added p99':>9}"
    )
    if stream:
        head += f" {'TTFB p50':>9}"
    print(head)
    for res in results:
        base = baseline[(res.concurrency, stream)]
        added = ("", "")
        if res is not base:
            added = (
                f"{(res.p50 - base.p50) * 1000:+.2f}",
                f"{(res.p99 - base.p99) * 1000:+.2f}",
            )
        line = (
            f"{res.label:<32} {res.concurrency:>4} {fmt(res.p50):>8} {fmt(res.p99):>8} "
            f"{fmt(res.mean):>8} {res.rps:>8.1f} {len(res.latencies):>5} {res.errors:>4}   "
            f"{added[0]:>9} {added[1]:>9}"
        )
        if stream:
            line += f" {fmt(percentile(res.first_bytes, 50)):>9}"
        print(line)


def print_breakdown(cell: Result, bd: Breakdown) -> None:
    """Per-stage p50/p99 of one instrumented cell (stages overlap the client's total)."""
    print()
    print(
        f"where a gateway request's time goes ({cell.label}, concurrency {cell.concurrency}, "
        f"{len(cell.latencies)} requests; ms per request):"
    )
    print(f"  {'stage':<52} {'p50':>8} {'p99':>8} {'max':>8}")
    lat = cell.latencies
    print(
        f"  {'client-measured total':<52} {fmt(percentile(lat, 50)):>8} "
        f"{fmt(percentile(lat, 99)):>8} {fmt(max(lat, default=float('nan'))):>8}"
    )
    top = 0.0
    for label, times in bd.times.items():
        if not times:
            continue
        if not label.startswith(" "):
            top += percentile(times, 50)
        print(
            f"  {label:<52} {fmt(percentile(times, 50)):>8} {fmt(percentile(times, 99)):>8} "
            f"{fmt(max(times)):>8}"
        )
    rest = percentile(lat, 50) - top
    print(f"  {'rest: p50 total - sum of top-level p50s':<52} {fmt(rest):>8}")
    print(
        "  (rest = HTTP in and out, middleware, Connexion routing + request validation, "
        "threadpool hops; under concurrency also waiting for the GIL and the event loop)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="timed requests per cell (every concurrency)"
    )
    parser.add_argument(
        "--concurrency",
        default="1,8",
        help="comma-separated concurrencies (keep-alive connections, one client thread each)",
    )
    parser.add_argument("--warmup", type=int, default=24, help="untimed requests per cell")
    parser.add_argument(
        "--stream-requests",
        type=int,
        default=100,
        help="timed streaming requests per target at concurrency 1 (0 = no streaming rows)",
    )
    parser.add_argument(
        "--breakdown-requests",
        type=int,
        default=100,
        help="extra gateway requests timed stage by stage, PHI on at concurrency 1 and PHI "
        "off at the highest concurrency (0 = skip)",
    )
    parser.add_argument(
        "--breakdown-workload",
        choices=sorted(WORKLOADS),
        default="repeat",
        help="the PHI-on prompts of the breakdown cell (see --phi-workloads)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout, seconds")
    parser.add_argument(
        "--phi-workloads",
        default="repeat,cold,conversation",
        help="PHI-scan-on rows: repeat (the same prompt: findings cache hits), cold (every "
        "prompt distinct), conversation (10-turn conversations re-sending their history)",
    )
    parser.add_argument(
        "--litellm",
        action="store_true",
        help="also run the LiteLLM proxy (no guardrail) side by side, installed with pip in a "
        "venv under the data dir (skipped with a message when it cannot be installed)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="run agentyard as `agentyard serve` in its own process (as the LiteLLM proxy "
        "runs), not in this one; no PHI-off row and no breakdown (both patch the process)",
    )
    args = parser.parse_args()
    workloads = [w.strip() for w in args.phi_workloads.split(",") if w.strip()]
    if not workloads or any(w not in WORKLOADS for w in workloads):
        parser.error(f"--phi-workloads takes {', '.join(WORKLOADS)}")
    try:
        levels = sorted({int(c) for c in args.concurrency.split(",") if c.strip()})
    except ValueError:
        parser.error("--concurrency takes integers, e.g. 1,8")
    if not levels or levels[0] < 1 or levels[-1] > 64:
        parser.error("concurrencies must be between 1 and 64")
    if not 1 <= args.requests <= 100_000 or args.warmup < 0:
        parser.error("need 1 <= --requests <= 100000 and --warmup >= 0")
    if not 0 <= args.stream_requests <= 100_000 or not 0 <= args.breakdown_requests <= 100_000:
        parser.error("--stream-requests and --breakdown-requests take 0..100000")

    logging.getLogger("agentyard").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    with workdir() as tmp:
        data_dir = tmp / "agentyard-data"
        data_dir.mkdir()
        litellm_ctx = litellm_proxy if args.litellm else _no_litellm
        with (
            fake_upstream() as fake,
            contextlib.ExitStack() as stack,
            litellm_ctx(fake, tmp) as litellm,
        ):
            from agentyard.hasp.ai import gateway as gw
            from agentyard.llm import make_provider
            from agentyard.phi.guard import get_guard

            if args.serve:
                base = stack.enter_context(agentyard_served(tmp, fake))
            else:
                base = stack.enter_context(agentyard_in_process(data_dir))
                gw.use_provider(
                    make_provider(
                        "anthropic", base_url=fake.url, api_key=fake.api_key, max_retries=0
                    )
                )
            key = make_org(base)
            direct = Target(
                "direct upstream",
                f"{fake.url}/v1/messages",
                {"x-api-key": fake.api_key, "anthropic-version": "2023-06-01"},
            )
            through = Target(
                "gateway", f"{base}/hasp-ai/v1/messages", {"Authorization": f"Bearer {key}"}
            )
            if args.serve:
                sent = check_setup(fake, direct, through, scan_off=False)
                placeholders = Counter(re.findall(r"\[([A-Z_]+)_\d+\]", sent))
                found = dict(placeholders)
                load_note = "served by `agentyard serve --workers 1`"
            else:
                load_start = time.perf_counter()
                guard = get_guard()  # loads Presidio + spaCy
                load_note = f"guard load {time.perf_counter() - load_start:.2f} s"
                found = guard.redact([PROMPT], timeout=60).counts
                check_setup(fake, direct, through)

            print(
                f"python         : {platform.python_version()} ({platform.python_implementation()}"
                f"), {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"
            )
            where = (
                "`agentyard serve --workers 1` in its own process (SQLite, log level WARNING)"
                if args.serve
                else "agentyard (create_app on uvicorn in a thread, SQLite, log level warning)"
            )
            print(
                "layout         : this process: fake upstream (tests/llm/fakes.py "
                f"FakeAnthropic, werkzeug threaded), httpx client threads; {where}"
            )
            print(
                f"prompt         : {len(PROMPT.encode())} bytes, 1 user message, max_tokens "
                f"{MAX_TOKENS}, model {MODEL}; reply {len(REPLY_TEXT)} chars"
            )
            print(
                "PHI in prompt  : "
                + ", ".join(f"{t} x{n}" for t, n in sorted(found.items()))
                + f" (org PHI mode: redact; {load_note})"
            )
            print(
                f"requests       : {args.requests} timed + {args.warmup} warm-up per cell, "
                f"concurrency {', '.join(map(str, levels))}; streaming rows: "
                + (f"{args.stream_requests} at concurrency 1" if args.stream_requests else "off")
            )
            if not args.serve:
                print(
                    "PHI scan OFF   : benchmark-only monkeypatch, get_guard().analyze_many "
                    "returns no findings without running Presidio (the product has no off switch)"
                )
            print()

            results: list[Result] = []
            baseline: dict[tuple[int, bool], Result] = {}
            cells = [(c, False, args.requests) for c in levels]
            if args.stream_requests:
                cells.append((1, True, args.stream_requests))
            for concurrency, stream, count in cells:
                suffix = " (stream)" if stream else ""
                row = []
                targets = [("direct upstream", direct, False, None)]
                if not args.serve:
                    targets.append(("gateway, PHI scan off", through, True, None))
                if litellm is not None:
                    targets.append(("LiteLLM proxy, no guardrail", litellm, False, None))
                for name in workloads:
                    label, payloads = WORKLOADS[name]
                    targets.append((f"gateway, PHI on, {label}", through, False, payloads))
                for label, target, off, payloads in targets:
                    cell_target = Target(label + suffix, target.url, target.headers)
                    with phi_scan_off() if off else contextlib.nullcontext():
                        res = run_cell(
                            cell_target,
                            concurrency,
                            count,
                            args.warmup,
                            stream,
                            args.timeout,
                            payloads,
                        )
                    row.append(res)
                    print(
                        f"  measured {res.label:<36} concurrency {concurrency}: "
                        f"{res.seconds:.1f} s",
                        flush=True,
                    )
                baseline[(concurrency, stream)] = row[0]
                results += row
            print()
            table([r for r in results if "(stream)" not in r.label], baseline, False)
            streamed = [r for r in results if "(stream)" in r.label]
            if streamed:
                print()
                table(streamed, baseline, True)
            if litellm is not None:
                print_ratios(results)
            if any(r.errors for r in results):
                print("note: some requests failed (err column); they are not in the figures")

            if args.breakdown_requests and args.serve:
                print("\n(no breakdown with --serve: its timers wrap this process's gateway)")
            elif args.breakdown_requests:
                scenarios = [(1, False)] + ([(levels[-1], True)] if levels[-1] > 1 else [])
                bd_label, bd_payloads = WORKLOADS[args.breakdown_workload]
                for concurrency, off in scenarios:
                    label = "gateway, PHI scan " + ("off" if off else f"on, {bd_label}")
                    with phi_scan_off() if off else contextlib.nullcontext(), Breakdown() as bd:
                        cell = run_cell(
                            Target(label, through.url, through.headers),
                            concurrency,
                            args.breakdown_requests,
                            0,
                            False,
                            args.timeout,
                            bd_payloads,
                        )
                    print_breakdown(cell, bd)
            gw.use_provider(None)
    print()
    print(f"total run time : {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        sys.exit(1)
