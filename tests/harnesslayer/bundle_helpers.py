"""Helpers for the bundle tests: hashes, uploads through the signed URLs, profiles, polling."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import time
import zipfile
from collections.abc import Callable
from typing import Any

import httpx

from agentyard.core import clock, ids
from agentyard.core.store import connection, write
from agentyard.harnesslayer.models import Profile

OCTET = {"Content-Type": "application/octet-stream"}


def sri(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def declare(files: dict[str, bytes]) -> list[dict[str, str]]:
    return [{"name": name, "hash": sri(data)} for name, data in files.items()]


def put_files(upload: dict[str, Any], files: dict[str, bytes], skip: tuple[str, ...] = ()) -> None:
    """PUT each file to its absolute signed URL (no API key)."""
    for item in upload["uploadUrls"]:
        if item["name"] in skip:
            continue
        r = httpx.put(item["url"], content=files[item["name"]], headers=OCTET, timeout=30)
        assert r.status_code == 204, r.text


def start_version(ws: Any, app: dict[str, Any], files: dict[str, bytes], **body: Any) -> dict:
    r = ws.http.post(
        "/v1/version/upload",
        headers=ws.headers,
        json={"appId": app["id"], "files": declare(files), **body},
    )
    assert r.status_code == 201, r.text
    return r.json()["data"]


def publish_version(ws: Any, app: dict[str, Any], files: dict[str, bytes], **body: Any) -> dict:
    """Upload, PUT and complete: the new head version."""
    upload = start_version(ws, app, files, **body)
    put_files(upload, files)
    r = ws.http.post(
        f"/v1/version/upload/{upload['uploadId']}/complete",
        headers=ws.headers,
        json={"appId": app["id"], "versionId": upload["versionId"]},
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


def start_state(ws: Any, profile_id: str, files: dict[str, bytes], **body: Any) -> dict:
    r = ws.http.post(
        "/v1/state/upload",
        headers=ws.headers,
        json={"profileId": profile_id, "files": declare(files), **body},
    )
    assert r.status_code == 201, r.text
    return r.json()["data"]


def publish_state(ws: Any, profile_id: str, files: dict[str, bytes]) -> dict:
    upload = start_state(ws, profile_id, files)
    put_files(upload, files)
    r = ws.http.post(
        f"/v1/state/upload/{upload['uploadId']}/complete",
        headers=ws.headers,
        json={"profileId": profile_id, "stateId": upload["stateId"]},
    )
    assert r.status_code == 200, r.text
    return r.json()["data"]


def make_profile(app_id: str, identifier: str | None = None) -> str:
    """A profile row made directly (the profile API is tested elsewhere)."""
    now = clock.now()
    with connection(), write():
        profile = Profile.create(
            id=ids.new_id("prof", "-"),
            app=app_id,
            identifier=identifier or f"user-{secrets.token_hex(4)}@example.com",
            created_at=now,
            updated_at=now,
        )
    return profile.id


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def download(ws: Any, path: str, method: str = "GET") -> tuple[dict[str, Any], httpx.Response]:
    """(signed URL answer, the archive response fetched without a key)."""
    r = ws.http.request(method, path, headers=ws.headers)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    return data, httpx.get(data["url"], timeout=30)


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll `check()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
