"""The operator's view of a running server: what `serve` prints, /healthz, /readyz, /version,
/metrics (with its token), one structured log line per request that never holds a secret, and
a busy port refused up front."""

from __future__ import annotations

import json
import logging
import re
import socket

import httpx

from agentyard.core import logs, readiness
from tests.kit.processes import run, start, stop

METRICS_TOKEN = "metrics-token-for-the-test"


def test_a_served_process_tells_the_operator_what_it_runs_and_logs_no_secret(tmp_path):
    made = run(["keys", "create", "--surface", "aisp-hub", "--tenant", "ops-team"], tmp_path)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    query_token = "payload0123456789abcdef.signature0123456789abcdef"
    proc, base = start(tmp_path, AGENTYARD_METRICS_TOKEN=METRICS_TOKEN)
    try:
        assert httpx.get(base + "/healthz").json()["status"] == "ok"
        ready = httpx.get(base + "/readyz").json()
        assert ready["status"] == "ready" and ready["checks"]["store"] == "ok"
        version = httpx.get(base + "/version").json()
        assert version["name"] == "agentyard" and version["backends"]["store"] == "sqlite"
        assert version["backends"]["llm"] == "offline"

        listed = httpx.get(base + "/aisp-hub/api/v1/sessions", headers={"X-AISP-Key": key})
        assert listed.status_code == 200, listed.text
        refused = httpx.get(
            f"{base}/aisp-hub/api/v1/sessions/{query_token}", params={"token": query_token}
        )
        assert refused.status_code in (400, 401, 404)

        assert httpx.get(base + "/metrics").status_code == 401
        scraped = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraped.status_code == 200
        counted = re.compile(
            r'agentyard_requests_total\{operation="listSessions",status="200",'
            r'surface="aisp-hub"\} 1\.0'
        )
        assert counted.search(scraped.text), scraped.text[:2000]
        assert "agentyard_request_duration_seconds_bucket" in scraped.text
        assert "agentyard_jobs_queued" in scraped.text
    finally:
        out = stop(proc)

    # what serve printed: the landing page, each Swagger UI, the data, backends, LLM provider
    printed = out.splitlines()
    assert any(line.startswith(f"agentyard: {base}/  (landing page") for line in printed)
    for surface in ("aisp-hub", "hasp-ai", "hasp-studio", "harnesslayer", "hyphen"):
        assert any(line.startswith(f"{surface}: {base}/{surface}/ui/") for line in printed)
    assert any(line.startswith(f"data: {tmp_path}") for line in printed)
    assert any(line.startswith("llm: offline") for line in printed)

    lines = [json.loads(line) for line in printed if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "agentyard.access"]
    mine = next(line for line in access if line["request_id"] == listed.headers["request-id"])
    assert mine["operation"] == "listSessions" and mine["surface"] == "aisp-hub"
    assert mine["status"] == 200 and mine["tenant"].startswith("ten_") and mine["ts"]
    assert mine["duration_ms"] >= 0
    bad = next(line for line in access if line["request_id"] == refused.headers["request-id"])
    assert "[token]" in bad["path"]
    assert key not in out and query_token not in out and METRICS_TOKEN not in out


def test_serve_refuses_a_busy_port_naming_the_option(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["serve", "--port", str(port)], tmp_path)
    assert result.returncode != 0
    assert "--port" in result.stderr and str(port) in result.stderr
    assert "agentyard:" not in result.stdout  # nothing printed as if it served


def test_readyz_names_what_is_down(server, monkeypatch):
    def broken() -> str:
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(readiness, "_jobs", broken)
    r = httpx.get(server + "/readyz")
    assert r.status_code == 503
    assert "jobs" in r.json()["message"] and "queue unreachable" in r.json()["message"]
    assert r.json()["checks"]["store"] == "ok"


def test_logfmt_lines_quote_what_needs_it():
    record = logging.makeLogRecord(
        {"name": "agentyard.access", "levelname": "INFO", "msg": "request", "path": "/a b"}
    )
    line = logs.LogfmtFormatter().format(record)
    assert line.startswith("ts=") and ' path="/a b"' in line and " msg=request" in line
    assert logs.safe_path("/v1/uploads/abcdefghijklmnop.qrstuvwxyz012345/x") == (
        "/v1/uploads/[token]/x"
    )
