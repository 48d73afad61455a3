"""Every path the HASP AI surface hands out carries its mount and answers where it was issued:
under `/hasp-ai` in the combined server, at the root with `agentyard serve --surface hasp-ai`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.conftest import free_port
from tests.hasp_ai.conftest import BAA

AGENTYARD = [sys.executable, "-m", "agentyard.cli"]


def test_baa_download_url_answers_on_the_combined_server(server, fresh_org):
    org = fresh_org
    refused = org.message("hi")
    assert refused.status_code == 402
    assert "POST /hasp-ai/v1/compliance/baa/acceptances" in refused.json()["error"]["message"]
    accepted = org.accept_baa()
    url = accepted["download_url"]
    assert url == f"/hasp-ai/v1/compliance/baa/acceptances/{accepted['id']}/download"
    pdf = httpx.get(server + url, headers=org.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    status = org.http.get("/v1/compliance/baa", headers=org.headers).json()["data"]
    listed = org.http.get("/v1/compliance/baa/acceptances", headers=org.headers).json()["data"]
    one = org.http.get(f"/v1/compliance/baa/acceptances/{accepted['id']}", headers=org.headers)
    assert status["acceptance"]["download_url"] == url
    assert listed[0]["download_url"] == url and one.json()["data"]["download_url"] == url


def test_audit_export_ca_url_answers_on_the_combined_server(server, org):
    export = org.http.get("/v1/audit/export", headers=org.headers).json()
    anchor = export["verification"]["tsa_anchor_chain"][0]
    for key in ("tsa_cacert_url", "tsa_url"):
        path = urlsplit(anchor[key]).path
        assert path == "/hasp-ai/v1/audit/tsa/cacert.pem"
        assert httpx.get(server + path).status_code == 200


def _cli(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        AGENTYARD + args,
        env={**os.environ, "AGENTYARD_DATA_DIR": str(data_dir), "DATABASE_URL": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _serve_alone(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        AGENTYARD + ["serve", "--surface", "hasp-ai", "--port", str(port)],
        env={
            **os.environ,
            "AGENTYARD_DATA_DIR": str(data_dir),
            "DATABASE_URL": "",
            "REDIS_URL": "",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            httpx.get(base + "/openapi.json", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("agentyard serve --surface hasp-ai did not start")


def test_urls_answer_on_the_surface_served_alone(tmp_path):
    made = _cli(
        ["keys", "create", "--surface", "hasp-ai", "--tenant", "alone"]
        + ["--scopes", "ai:chat,control:read,control:admin"],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    key = re.search(r"wa_live_[0-9a-f]{32}", made.stdout).group(0)
    proc, base = _serve_alone(tmp_path)
    try:
        headers = {"x-api-key": key}
        refused = httpx.post(
            base + "/v1/messages",
            headers=headers,
            json={
                "model": "claude-haiku-4-5",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "hi"}],
            },
        )
        assert "POST /v1/compliance/baa/acceptances " in refused.json()["error"]["message"]
        accepted = httpx.post(base + "/v1/compliance/baa/acceptances", headers=headers, json=BAA)
        assert accepted.status_code == 201, accepted.text
        url = accepted.json()["data"]["download_url"]
        assert url.startswith("/v1/compliance/baa/acceptances/")
        pdf = httpx.get(base + url, headers=headers)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        export = httpx.get(base + "/v1/audit/export", headers=headers).json()
        ca = urlsplit(export["verification"]["tsa_anchor_chain"][0]["tsa_cacert_url"]).path
        assert ca == "/v1/audit/tsa/cacert.pem" and httpx.get(base + ca).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
