"""The `agentyard` command, run as a user would: in subprocesses, on a fresh data dir."""

from __future__ import annotations

import os
import re
import subprocess

import httpx
import pytest

from tests.kit.processes import AGENTYARD, run, start, stop


def test_db_upgrade_and_keys(tmp_path):
    first = run(["db", "upgrade"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "core:1" in first.stdout and "aisp:1" in first.stdout
    assert run(["db", "upgrade"], tmp_path).stdout.strip() == "up to date"
    made = run(["keys", "create", "--surface", "aisp-hub", "--tenant", "team-a"], tmp_path)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert re.fullmatch(r"aisp_key_[0-9a-f]{32}", secret)
    listed = run(["keys", "list", "--surface", "aisp-hub"], tmp_path).stdout
    assert secret[:16] in listed and "team-a" in listed and "live" in listed
    assert secret not in listed
    assert run(["keys", "revoke", "--surface", "aisp-hub", secret[:16]], tmp_path).returncode == 0
    assert "revoked" in run(["keys", "list", "--surface", "aisp-hub"], tmp_path).stdout
    assert run(["keys", "revoke", "--surface", "aisp-hub", "key_nope"], tmp_path).returncode == 1
    bad = run(["keys", "create", "--surface", "nowhere"], tmp_path)
    assert bad.returncode != 0


def test_serve_bootstraps_once_and_serves(tmp_path):
    proc, base = start(tmp_path)
    try:
        hub = base + "/aisp-hub/api/v1"
        r = httpx.get(hub + "/sessions", headers={"X-AISP-Key": "wrong"})
        assert r.status_code == 401
    finally:
        out = stop(proc)
    key = re.search(r"aisp_key_[0-9a-f]{32}", out).group(0)
    proc, base = start(tmp_path)
    try:
        r = httpx.get(base + "/aisp-hub/api/v1/sessions", headers={"X-AISP-Key": key})
        assert r.status_code == 200 and r.json() == {"sessions": [], "total": 0}
    finally:
        out = stop(proc)
    assert "aisp_key_" not in out  # printed once, on the first start only


def test_serve_one_surface_at_its_original_paths(tmp_path):
    proc, base = start(tmp_path, "--surface", "aisp-hub")
    try:
        assert httpx.get(base + "/api/v1/sessions").status_code == 401
        assert httpx.get(base + "/openapi.json").json()["servers"][0]["url"] == base
        assert httpx.get(base + "/openapi.yaml").text.startswith("openapi: 3.0.3")
        assert httpx.get(base + "/aisp-hub/api/v1/sessions").status_code == 404
    finally:
        stop(proc)


@pytest.mark.skipif(not os.environ.get("AGENTYARD_TEST_REDIS_URL"), reason="no Redis")
def test_two_workers_share_streams_through_redis(tmp_path):
    """A message posted to one server process reaches an SSE stream held by another."""
    redis = os.environ["AGENTYARD_TEST_REDIS_URL"]
    limits = {"REDIS_URL": redis, "AGENTYARD_AISP_READS_PER_MINUTE": "6"}
    one, base_one = start(tmp_path, **limits)
    two, base_two = start(tmp_path, **limits)
    try:
        made = run(["keys", "create", "--surface", "aisp-hub"], tmp_path)
        out_key = made.stdout.strip()
        hdr = {"X-AISP-Key": out_key}
        ids = []
        for name in ("sender", "receiver"):
            r = httpx.post(
                base_one + "/aisp-hub/api/v1/sessions",
                headers=hdr,
                json={"name": name, "kind": "service", "realm": "default"},
            )
            ids.append(r.json()["id"])
        with (
            httpx.Client(timeout=10) as client,
            client.stream(
                "GET",
                base_one + "/aisp-hub/api/v1/messages/stream",
                headers={**hdr, "X-AISP-Session": ids[1], "Accept": "text/event-stream"},
            ) as stream,
        ):
            lines = stream.iter_lines()
            assert next(lines) == ": stream open"
            r = httpx.post(
                base_two + "/aisp-hub/api/v1/messages",
                headers={**hdr, "X-AISP-Session": ids[0]},
                json={
                    "aisp": "0.1",
                    "from": ids[0],
                    "to": ids[1],
                    "realm": "default",
                    "category": "inform",
                    "payload": {"via": "worker two"},
                },
            )
            assert r.json()["delivered"] is True
            data = next(line for line in lines if line.startswith("data:"))
            assert '"via": "worker two"' in data
        # the read budget (6/min, the stream used 1) is shared by both processes
        codes = [
            httpx.get(base + "/aisp-hub/api/v1/sessions", headers=hdr).status_code
            for base in [base_two, base_one] * 3
        ]
        assert codes == [200] * 5 + [429]
    finally:
        stop(one)
        stop(two)


def test_serve_with_gunicorn_workers(tmp_path):
    run(["keys", "create", "--surface", "aisp-hub"], tmp_path)  # not empty: no bootstrap print
    made = run(["keys", "create", "--surface", "aisp-hub"], tmp_path)
    proc, base = start(tmp_path, "--workers", "2")
    try:
        codes = {
            httpx.get(
                base + "/aisp-hub/api/v1/sessions", headers={"X-AISP-Key": made.stdout.strip()}
            ).status_code
            for _ in range(6)
        }
        assert codes == {200}
    finally:
        out = stop(proc)
    assert "uvicorn_worker.UvicornWorker" in out


def test_sigterm_stops_the_server_even_with_a_stream_open(tmp_path):
    made = run(["keys", "create", "--surface", "aisp-hub"], tmp_path)
    hdr = {"X-AISP-Key": made.stdout.strip()}
    proc, base = start(tmp_path)
    r = httpx.post(
        base + "/aisp-hub/api/v1/sessions",
        headers=hdr,
        json={"name": "s", "kind": "service", "realm": "default"},
    )
    hdr["X-AISP-Session"] = r.json()["id"]
    reader = subprocess.Popen(  # a client that keeps reading, as `curl -N` does
        ["curl", "-sN", "-H", "Accept: text/event-stream"]
        + [arg for k, v in hdr.items() for arg in ("-H", f"{k}: {v}")]
        + [base + "/aisp-hub/api/v1/messages/stream"],
        stdout=subprocess.PIPE,
    )
    try:
        assert reader.stdout.readline().startswith(b": stream open")
        proc.terminate()
        proc.wait(timeout=20)  # without a graceful-shutdown timeout this waits forever
    finally:
        reader.kill()
        if proc.poll() is None:
            proc.kill()


def test_hasp_ai_alone_takes_the_sdk_with_only_its_base_url(tmp_path):
    import anthropic

    created = subprocess.run(
        AGENTYARD
        + ["keys", "create", "--surface", "hasp-ai", "--tenant", "acme"]
        + ["--scopes", "ai:chat,control:admin"],
        env={**os.environ, "AGENTYARD_DATA_DIR": str(tmp_path), "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip()
    assert re.fullmatch(r"wa_live_[0-9a-f]{32}", key)
    proc, base = start(tmp_path, "--surface", "hasp-ai")
    try:
        baa = {
            "version": "2026-04-01",
            "signer_name": "Ann Example",
            "signer_title": "CEO",
            "signer_email": "ann@acme.example",
            "agree": True,
        }
        accepted = httpx.post(
            base + "/v1/compliance/baa/acceptances", headers={"x-api-key": key}, json=baa
        )
        assert accepted.status_code == 201, accepted.text
        client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
        reply = client.messages.create(
            model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.id.startswith("msg_") and reply.content[0].text.startswith("[offline]")
        assert httpx.get(base + "/hasp-ai/v1/models").status_code == 404
    finally:
        stop(proc)


def test_harnesslayer_alone_takes_files_beyond_the_json_body_limit(tmp_path):
    """The blob route's own body limit holds at the root paths of `--surface harnesslayer`."""
    import base64
    import hashlib

    key = run(["keys", "create", "--surface", "harnesslayer", "--tenant", "t"], tmp_path)
    auth = {"Authorization": f"Bearer {key.stdout.strip()}"}
    proc, base = start(tmp_path, "--surface", "harnesslayer", AGENTYARD_MAX_BODY_BYTES="65536")
    try:
        app = httpx.post(
            base + "/v1/app/create", headers=auth, json={"slug": "a", "type": "claude"}
        )
        assert app.status_code == 201, app.text
        data = bytes(range(256)) * 1024  # 256 KiB: four times the JSON body limit
        sri = "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        upload = httpx.post(
            base + "/v1/version/upload",
            headers=auth,
            json={"appId": app.json()["data"]["id"], "files": [{"name": "big.bin", "hash": sri}]},
        )
        url = upload.json()["data"]["uploadUrls"][0]["url"]
        assert url.startswith(base + "/v1/blobs/upload/")
        put = httpx.put(url, content=data, headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 204, put.text
        too_big = httpx.post(
            base + "/v1/app/create",
            headers=auth,
            json={"name": "x" * 70000, "slug": "b", "type": "claude"},
        )
        assert too_big.status_code == 413  # JSON routes keep the general limit
    finally:
        stop(proc)
