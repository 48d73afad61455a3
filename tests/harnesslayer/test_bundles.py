"""Versions, states, signed uploads and downloads, snapshots, rollbacks and history."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from agentyard.core import blobs, clock, http_guard, jobs, netguard, runtime
from agentyard.core.store import connection
from agentyard.harnesslayer import apps as apps_domain
from agentyard.harnesslayer import profiles as profiles_domain
from agentyard.harnesslayer import snapshots
from agentyard.harnesslayer.bundle_models import History, State, Upload, Version
from agentyard.harnesslayer.models import App, Profile
from tests.harnesslayer.bundle_helpers import (
    OCTET,
    declare,
    download,
    make_profile,
    publish_state,
    publish_version,
    put_files,
    sri,
    start_state,
    start_version,
    unzip,
    wait_for,
)

FILES = {
    "agent.json": b'{"name": "demo", "model": "claude"}\n',
    "README.md": b"# Demo\n\nAn agent.\n",
    "skills/search.md": b"Search the web.\n",
}


@contextmanager
def override_settings(**changes: object) -> Iterator[None]:
    """Change the live server's settings for the duration (it runs in this process)."""
    current = runtime.current()
    before = current.settings
    current.settings = dataclasses.replace(before, **changes)
    try:
        yield
    finally:
        current.settings = before


@pytest.fixture(scope="module")
def consumer(app):
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    yield
    jobs.stop_consumer()


def head_state(profile_id: str) -> str | None:
    with connection():
        return Profile.get_by_id(profile_id).head_state_id


def complete(ws, upload: dict, app_id: str):
    return ws.http.post(
        f"/v1/version/upload/{upload['uploadId']}/complete",
        headers=ws.headers,
        json={"appId": app_id, "versionId": upload["versionId"]},
    )


# --- versions -------------------------------------------------------------------------------


def test_upload_put_complete_registers_the_head_version(ws, server):
    app = ws.app()
    upload = start_version(ws, app, FILES, versionId="release-1.0")
    assert upload["uploadId"].startswith("upload-") and upload["versionId"] == "release-1.0"
    assert upload["appId"] == app["id"]
    assert [u["name"] for u in upload["uploadUrls"]] == list(FILES)  # in the order of files
    for item in upload["uploadUrls"]:  # absolute URLs to agentyard itself, under the mount
        assert item["url"].startswith(server + "/harnesslayer/v1/blobs/upload/")
        assert item["expiresAt"] == upload["expiresAt"]
    put_files(upload, FILES)
    again = httpx.put(upload["uploadUrls"][0]["url"], content=FILES["agent.json"], headers=OCTET)
    assert again.status_code == 204  # a second PUT replaces the first until completed
    r = complete(ws, upload, app["slug"])
    assert r.status_code == 200, r.text
    version = r.json()["data"]
    assert version["id"] == "release-1.0" and version["number"] == 1 and version["isHead"]
    assert version["files"] == [
        {"name": name, "hash": sri(FILES[name]), "size": len(FILES[name])} for name in sorted(FILES)
    ]
    assert version["totalSize"] == sum(len(v) for v in FILES.values())
    assert ws.http.get(f"/v1/app/{app['id']}", headers=ws.headers).json()["data"][
        "headVersionId"
    ] == ("release-1.0")
    # Completing again is safe: the same version, 200.
    retry = complete(ws, upload, app["id"])
    assert retry.status_code == 200 and retry.json()["data"] == version
    late = httpx.put(upload["uploadUrls"][0]["url"], content=FILES["agent.json"], headers=OCTET)
    assert late.status_code == 410 and late.json()["error"]["code"] == "gone"

    second = publish_version(ws, app, {**FILES, "README.md": b"# Demo v2\n"})
    assert second["number"] == 2 and second["id"].startswith("ver-") and second["isHead"]
    got = ws.http.get("/v1/version/release-1.0", headers=ws.headers).json()["data"]
    assert got["isHead"] is False and got["number"] == 1
    listed = ws.http.get(
        "/v1/version/list", headers=ws.headers, params={"appId": app["slug"], "pageSize": 1}
    ).json()["data"]
    assert listed["total"] == 2 and [v["id"] for v in listed["items"]] == [second["id"]]
    page2 = ws.http.get(
        "/v1/version/list",
        headers=ws.headers,
        params={"appId": app["id"], "pageSize": 1, "page": 2},
    ).json()["data"]
    assert [v["id"] for v in page2["items"]] == ["release-1.0"]


def test_complete_refuses_missing_and_mismatched_files(ws):
    app = ws.app()
    other = ws.app()
    publish_version(ws, other, {"shared.txt": b"already stored\n"})  # same bytes, elsewhere
    files = {"a.txt": b"alpha\n", "b.txt": b"bravo\n", "shared.txt": b"already stored\n"}
    upload = start_version(ws, app, files)
    put_files(upload, files, skip=("b.txt", "shared.txt"))
    wrong = httpx.put(upload["uploadUrls"][1]["url"], content=b"not bravo\n", headers=OCTET)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "hash_mismatch"
    r = complete(ws, upload, app["id"])
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "upload_incomplete"
    # A file counts only when PUT to this upload, even if identical bytes are stored already.
    assert error["details"] == {"missing": ["shared.txt"], "mismatched": ["b.txt"]}
    app_now = ws.http.get(f"/v1/app/{app['id']}", headers=ws.headers).json()["data"]
    assert app_now["headVersionId"] is None
    listed = ws.http.get("/v1/version/list", headers=ws.headers, params={"appId": app["id"]})
    assert listed.json()["data"]["total"] == 0
    put_files(upload, files, skip=("a.txt",))
    assert complete(ws, upload, app["id"]).status_code == 200


def test_upload_input_rules(ws):
    app = ws.app()
    good = declare({"a.txt": b"a"})
    for files in (
        [{"name": "../etc/passwd", "hash": good[0]["hash"]}],
        [{"name": "a/./b", "hash": good[0]["hash"]}],
        [{"name": "a//b", "hash": good[0]["hash"]}],
        [{"name": "/abs", "hash": good[0]["hash"]}],
        [{"name": "a\\b", "hash": good[0]["hash"]}],
        [{"name": "a.txt", "hash": "sha256-abc"}],
        [{"name": "a.txt", "hash": "md5-" + "A" * 43 + "="}],
        [],
        [{"name": "a.txt"}],
        [*good, {"name": "a.txt/b", "hash": "sha256-abc"}],  # a bad entry beside a clash
    ):
        r = ws.http.post(
            "/v1/version/upload", headers=ws.headers, json={"appId": app["id"], "files": files}
        )
        assert r.status_code == 400, (files, r.text)
        assert r.json()["error"]["code"] == "bad_request"
    # Entries each valid, but two claiming one path: the schema cannot say so; 409.
    for files in (
        good + good,  # duplicate names
        [good[0], {"name": "a.txt", "hash": sri(b"other")}],  # one name, two contents
        [*good, {"name": "a.txt/b", "hash": good[0]["hash"]}],  # a file and a directory
    ):
        for path, owner in (
            ("/v1/version/upload", {"appId": app["id"]}),
            ("/v1/state/upload", None),
        ):
            if owner is None:
                owner = {"profileId": make_profile(app["id"])}
            r = ws.http.post(path, headers=ws.headers, json={**owner, "files": files})
            assert r.status_code == 409, (files, r.text)
            assert r.json()["error"]["code"] == "conflict"
    for reserved in ("list", "create"):
        r = ws.http.post(
            "/v1/version/upload",
            headers=ws.headers,
            json={"appId": app["id"], "versionId": reserved, "files": good},
        )
        assert r.status_code == 400
    first = start_version(ws, app, {"a.txt": b"a"}, versionId="v1")
    taken = ws.http.post(
        "/v1/version/upload",
        headers=ws.headers,
        json={"appId": app["id"], "versionId": "v1", "files": good},
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
    put_files(first, {"a.txt": b"a"})
    # The upload exists: a body at odds with it (another version, another or no app) is a
    # 409 that says what the upload is for, never a 404 for the upload just created.
    other_app = ws.app()
    for body in (
        {"appId": app["id"], "versionId": "v2"},
        {"appId": other_app["id"], "versionId": "v1"},
        {"appId": "no-such-app", "versionId": "v1"},
    ):
        wrong = ws.http.post(
            f"/v1/version/upload/{first['uploadId']}/complete", headers=ws.headers, json=body
        )
        assert wrong.status_code == 409, (body, wrong.text)
        assert wrong.json()["error"]["code"] == "conflict"
        assert "v1" in wrong.json()["error"]["message"]
    unknown = ws.http.post(
        "/v1/version/upload/upload-01J9Z3K4M5N6P7Q8R9S0T1V2W3/complete",
        headers=ws.headers,
        json={"appId": app["id"], "versionId": "v1"},
    )
    assert unknown.status_code == 404
    assert complete(ws, first, app["id"]).status_code == 200
    registered = ws.http.post(
        "/v1/version/upload",
        headers=ws.headers,
        json={"appId": app["id"], "versionId": "v1", "files": good},
    )
    assert registered.status_code == 409
    nothing = ws.http.post(
        "/v1/version/upload", headers=ws.headers, json={"appId": "no-such-app", "files": good}
    )
    assert nothing.status_code == 404


def test_upload_accepts_hex_sha256_hashes(ws):
    """The seed writes `sha256-...` without naming the encoding: the SRI base64 form and
    `sha256-<64 hex>` (either case) are both accepted and checked against the real bytes."""
    app = ws.app()
    files = {"a.txt": b"alpha\n", "b.txt": b"beta\n", "c.txt": b"gamma\n"}
    declared = [
        {"name": "a.txt", "hash": "sha256-" + hashlib.sha256(files["a.txt"]).hexdigest()},
        {"name": "b.txt", "hash": "sha256-" + hashlib.sha256(files["b.txt"]).hexdigest().upper()},
        {"name": "c.txt", "hash": sri(files["c.txt"])},
    ]
    r = ws.http.post(
        "/v1/version/upload", headers=ws.headers, json={"appId": app["id"], "files": declared}
    )
    assert r.status_code == 201, r.text
    upload = r.json()["data"]
    wrong = httpx.put(upload["uploadUrls"][0]["url"], content=b"not alpha", headers=OCTET)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "hash_mismatch"
    put_files(upload, files)
    version = complete(ws, upload, app["id"]).json()["data"]
    # Answers always carry the canonical SRI form.
    assert version["files"] == [
        {"name": n, "hash": sri(files[n]), "size": len(files[n])} for n in sorted(files)
    ]
    profile = make_profile(app["id"])
    state_files = {"memory.json": b"{}\n"}
    digest = hashlib.sha256(state_files["memory.json"]).hexdigest()
    r = ws.http.post(
        "/v1/state/upload",
        headers=ws.headers,
        json={"profileId": profile, "files": [{"name": "memory.json", "hash": f"sha256-{digest}"}]},
    )
    assert r.status_code == 201, r.text
    put_files(r.json()["data"], state_files)
    for bad in ("sha256-" + digest[:63], "sha256-" + digest[:63] + "g", "sha256-" + digest + "0"):
        r = ws.http.post(
            "/v1/version/upload",
            headers=ws.headers,
            json={"appId": app["id"], "files": [{"name": "x", "hash": bad}]},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", bad


def test_expired_uploads_and_tokens(ws):
    app = ws.app()
    with override_settings(harnesslayer_upload_ttl_seconds=0):
        upload = start_version(ws, app, FILES, versionId="short-lived")
    r = httpx.put(upload["uploadUrls"][0]["url"], content=FILES["agent.json"], headers=OCTET)
    assert r.status_code == 410 and r.json()["error"]["code"] == "gone"
    assert complete(ws, upload, app["id"]).status_code == 410
    create = ws.http.post(
        "/v1/version/create",
        headers=ws.headers,
        json={"appId": app["id"], "versionId": "short-lived"},
    )
    assert create.status_code == 410
    # An expired, never completed upload gives its version id up.
    fresh = start_version(ws, app, FILES, versionId="short-lived")
    url = fresh["uploadUrls"][0]["url"]
    payload, signature = url.rsplit("/", 1)[1].split(".")
    forged = url.rsplit("/", 1)[0] + "/" + payload + "." + signature[::-1]
    r = httpx.put(forged, content=FILES["agent.json"], headers=OCTET)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = httpx.put(url, content=FILES["agent.json"], headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    put_files(fresh, FILES)
    version = complete(ws, fresh, app["id"]).json()["data"]
    with override_settings(harnesslayer_download_ttl_seconds=0):
        _, archive = download(ws, f"/v1/version/download/{version['id']}")
    assert archive.status_code == 410 and archive.json()["error"]["code"] == "gone"


def test_blob_bodies_have_their_own_size_limit(ws):
    app = ws.app()
    big = {"big.bin": bytes(range(256)) * 6000}  # 1.5 MB: over the 1 MiB JSON body limit
    assert len(big["big.bin"]) > runtime.settings().max_body_bytes
    version = publish_version(ws, app, big)
    assert version["totalSize"] == len(big["big.bin"])
    with override_settings(harnesslayer_max_file_bytes=1000):
        upload = start_version(ws, app, {"x.bin": b"x" * 2000})
        r = httpx.put(upload["uploadUrls"][0]["url"], content=b"x" * 2000, headers=OCTET)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    # The limit is the surface's, under its mount only.
    limit = runtime.settings().harnesslayer_max_file_bytes
    assert http_guard.limit_for("/harnesslayer/v1/blobs/upload/t", 7) == limit
    assert http_guard.limit_for("/hasp-ai/v1/blobs/upload/t", 7) == 7
    # JSON routes keep the general limit.
    huge = b'{"appId": "' + b"a" * 1_100_000 + b'"}'
    r = ws.http.post(
        "/v1/version/upload",
        headers={**ws.headers, "Content-Type": "application/json"},
        content=huge,
    )
    assert r.status_code == 413


def test_blob_bodies_are_streamed_to_disk_and_capped_as_they_arrive(ws):
    import hashlib
    import os

    def chunked(data: bytes):  # a generator: httpx sends it chunked, with no Content-Length
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    store = blobs.store()
    spools = store.spool_dir()
    app = ws.app()
    data, other, wrong = os.urandom(300_000), os.urandom(300_000), os.urandom(1000)
    upload = start_version(ws, app, {"s.bin": data, "o.bin": other, "w.bin": b"declared"})
    url = {u["name"]: u["url"] for u in upload["uploadUrls"]}
    r = httpx.put(url["s.bin"], content=chunked(data), headers=OCTET, timeout=30)
    assert r.status_code == 204, r.text
    assert store.get(hashlib.sha256(data).hexdigest()) == data
    with override_settings(harnesslayer_max_file_bytes=100_000):
        r = httpx.put(url["o.bin"], content=chunked(other), headers=OCTET, timeout=30)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        assert "o.bin" in r.json()["error"]["message"]
    r = httpx.put(url["w.bin"], content=chunked(wrong), headers=OCTET, timeout=30)
    assert r.status_code == 422 and r.json()["error"]["code"] == "hash_mismatch"
    assert not store.exists(hashlib.sha256(other).hexdigest())
    assert not store.exists(hashlib.sha256(wrong).hexdigest())
    assert not list(spools.glob("spool-*"))  # moved into place, or removed
    r = ws.http.post(
        f"/v1/version/upload/{upload['uploadId']}/complete",
        headers=ws.headers,
        json={"appId": app["id"], "versionId": upload["versionId"]},
    )
    assert r.status_code == 409 and r.json()["error"]["details"] == {
        "missing": ["o.bin"],
        "mismatched": ["w.bin"],
    }


def test_create_version_from_an_uploaded_bundle(ws):
    app = ws.app()
    files = {"a.txt": b"one\n", "b.txt": b"two\n"}
    upload = start_version(ws, app, files, versionId="staged")
    put_files(upload, files, skip=("b.txt",))
    body = {"appId": app["id"], "versionId": "staged"}
    partial = ws.http.post("/v1/version/create", headers=ws.headers, json=body)
    assert partial.status_code == 409 and partial.json()["error"]["code"] == "upload_incomplete"
    assert partial.json()["error"]["details"]["missing"] == ["b.txt"]
    put_files(upload, files, skip=("a.txt",))
    created = ws.http.post("/v1/version/create", headers=ws.headers, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["isHead"] and created.json()["data"]["number"] == 1
    again = ws.http.post("/v1/version/create", headers=ws.headers, json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    # The upload now counts as completed: completing answers the version.
    assert complete(ws, upload, app["id"]).json()["data"]["id"] == "staged"
    unknown = ws.http.post(
        "/v1/version/create", headers=ws.headers, json={"appId": app["id"], "versionId": "nope"}
    )
    assert unknown.status_code == 404
    other_app = ws.app()
    elsewhere = ws.http.post(
        "/v1/version/create",
        headers=ws.headers,
        json={"appId": other_app["id"], "versionId": "staged"},
    )
    assert elsewhere.status_code == 404


def test_download_serves_exactly_the_version_files(ws):
    app = ws.app()
    version = publish_version(ws, app, FILES)
    data, archive = download(ws, f"/v1/version/download/{version['id']}")
    assert data["url"].split("/v1/blobs/download/")[0].endswith("/harnesslayer")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"] == f'attachment; filename="{version["id"]}.zip"'
    assert unzip(archive.content) == FILES
    _, again = download(ws, f"/v1/version/download/{version['id']}")
    assert again.content == archive.content  # deterministic, built once
    assert httpx.get(data["url"][:-3] + "AAA").status_code == 404
    missing = ws.http.get("/v1/version/download/ver-unknown", headers=ws.headers)
    assert missing.status_code == 404
    # Once the app is deleted, its versions and their archive URLs are gone.
    assert ws.http.delete(f"/v1/app/{app['id']}", headers=ws.headers).status_code == 202
    assert httpx.get(data["url"]).status_code == 404
    assert ws.http.get(f"/v1/version/{version['id']}", headers=ws.headers).status_code == 404


def test_version_rollback_and_its_history_record(ws):
    app = ws.app()
    v1 = publish_version(ws, app, {"a.txt": b"1\n"})
    v2 = publish_version(ws, app, {"a.txt": b"2\n"})
    r = ws.http.post(
        "/v1/version/rollback",
        headers=ws.headers,
        json={"appId": app["slug"], "toVersionId": v1["id"], "reason": "v2 is broken"},
    )
    assert r.status_code == 200, r.text
    rollback = r.json()["data"]
    assert rollback["appId"] == app["id"] and rollback["headVersionId"] == v1["id"]
    assert rollback["previousHeadVersionId"] == v2["id"]
    assert rollback["historyId"].startswith("hist-")
    assert ws.http.get(f"/v1/version/{v1['id']}", headers=ws.headers).json()["data"]["isHead"]
    record = ws.http.get(f"/v1/history/{rollback['historyId']}", headers=ws.headers).json()
    assert record["data"] == {
        "id": rollback["historyId"],
        "appId": app["id"],
        "type": "version.rollback",
        "fromId": v2["id"],
        "toId": v1["id"],
        "reason": "v2 is broken",
        "createdAt": record["data"]["createdAt"],
    }
    # No versions were created or deleted.
    assert (
        ws.http.get("/v1/version/list", headers=ws.headers, params={"appId": app["id"]}).json()[
            "data"
        ]["total"]
        == 2
    )
    same = ws.http.post(
        "/v1/version/rollback",
        headers=ws.headers,
        json={"appId": app["id"], "toVersionId": v1["id"]},
    )
    assert same.status_code == 200 and same.json()["data"]["historyId"] is None
    other_app = ws.app()
    foreign_version = publish_version(ws, other_app, {"a.txt": b"x\n"})
    for target in (foreign_version["id"], "ver-unknown"):
        r = ws.http.post(
            "/v1/version/rollback",
            headers=ws.headers,
            json={"appId": app["id"], "toVersionId": target},
        )
        assert r.status_code == 404
    listed = ws.http.get("/v1/history/list", headers=ws.headers, params={"appId": app["id"]})
    assert [h["id"] for h in listed.json()["data"]["items"]] == [rollback["historyId"]]
    by_id = ws.http.get(
        "/v1/history/list", headers=ws.headers, params={"historyId": rollback["historyId"]}
    )
    assert by_id.json()["data"]["total"] == 1
    # Without a filter: every record of the organization (it has just this one).
    no_filter = ws.http.get("/v1/history/list", headers=ws.headers)
    assert no_filter.status_code == 200, no_filter.text
    assert [h["id"] for h in no_filter.json()["data"]["items"]] == [rollback["historyId"]]
    unknown_app = ws.http.get("/v1/history/list", headers=ws.headers, params={"appId": "nope"})
    assert unknown_app.status_code == 404
    nobody = ws.http.get("/v1/history/list", headers=ws.headers, params={"userId": "nobody"})
    assert nobody.status_code == 200 and nobody.json()["data"]["total"] == 0


# --- states ---------------------------------------------------------------------------------


def test_state_upload_create_download_and_list(ws):
    app = ws.app()
    version = publish_version(ws, app, FILES)
    profile = make_profile(app["id"])
    state = publish_state(ws, profile, {**FILES, "memory.json": b"{}\n"})
    assert state["profileId"] == profile and state["appId"] == app["id"]
    assert state["number"] == 1 and state["source"] == "upload" and state["status"] == "ready"
    assert state["baseVersionId"] == version["id"] and state["isHead"]
    assert state["syncId"] is None and state["failure"] is None and state["sandboxId"] is None
    assert head_state(profile) == state["id"]

    files = {"memory.json": b'{"likes": "tea"}\n'}
    upload = start_state(ws, profile, files, stateId="state-custom")
    assert upload["profileId"] == profile and upload["stateId"] == "state-custom"
    put_files(upload, files)
    created = ws.http.post(
        "/v1/state/create",
        headers=ws.headers,
        json={"profileId": profile, "stateId": "state-custom"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["number"] == 2 and head_state(profile) == "state-custom"
    data, archive = download(ws, "/v1/state/download/state-custom", method="POST")
    assert archive.status_code == 200 and unzip(archive.content) == files
    listed = ws.http.get(
        "/v1/state/list", headers=ws.headers, params={"profileId": profile}
    ).json()["data"]
    assert [s["id"] for s in listed["items"]] == ["state-custom", state["id"]]
    assert [s["isHead"] for s in listed["items"]] == [True, False]
    got = ws.http.get(f"/v1/state/{state['id']}", headers=ws.headers)
    assert got.status_code == 200 and got.json()["data"]["isHead"] is False
    gone = ws.http.get("/v1/state/list", headers=ws.headers, params={"profileId": "prof-nope"})
    assert gone.status_code == 404
    # Incomplete state uploads are refused like version uploads.
    half = start_state(ws, profile, {"a": b"1", "b": b"2"})
    put_files(half, {"a": b"1", "b": b"2"}, skip=("b",))
    r = ws.http.post(
        f"/v1/state/upload/{half['uploadId']}/complete",
        headers=ws.headers,
        json={"profileId": profile, "stateId": half["stateId"]},
    )
    assert r.status_code == 409 and r.json()["error"]["details"]["missing"] == ["b"]
    # A body at odds with the upload (another state, another profile): 409, not 404.
    for body in (
        {"profileId": profile, "stateId": "state-other"},
        {"profileId": make_profile(app["id"]), "stateId": half["stateId"]},
        {"profileId": "prof-none", "stateId": half["stateId"]},
    ):
        r = ws.http.post(
            f"/v1/state/upload/{half['uploadId']}/complete", headers=ws.headers, json=body
        )
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.text


def test_state_rollback_within_the_profile(ws):
    app = ws.app()
    profile = make_profile(app["id"], identifier="ada@example.com")
    other_profile = make_profile(app["id"])
    s1 = publish_state(ws, profile, {"m.txt": b"1"})
    s2 = publish_state(ws, profile, {"m.txt": b"2"})
    foreign = publish_state(ws, other_profile, {"m.txt": b"3"})
    for target in (foreign["id"], "state-unknown"):
        r = ws.http.post(
            "/v1/state/rollback",
            headers=ws.headers,
            json={"profileId": profile, "toStateId": target},
        )
        assert r.status_code == 404
    r = ws.http.post(
        "/v1/state/rollback",
        headers=ws.headers,
        json={"profileId": profile, "toStateId": s1["id"], "reason": "restore"},
    )
    assert r.status_code == 200, r.text
    rollback = r.json()["data"]
    assert rollback == {
        "profileId": profile,
        "headStateId": s1["id"],
        "previousHeadStateId": s2["id"],
        "historyId": rollback["historyId"],
    }
    assert head_state(profile) == s1["id"]
    record = ws.http.get(f"/v1/history/{rollback['historyId']}", headers=ws.headers).json()
    assert record["data"]["type"] == "state.rollback" and record["data"]["reason"] == "restore"
    assert record["data"]["profileId"] == profile
    assert record["data"]["userId"] == "ada@example.com"
    assert (record["data"]["fromId"], record["data"]["toId"]) == (s2["id"], s1["id"])
    for params in (
        {"profileId": profile},
        {"userId": "ada@example.com"},
        {"userId": "ada@example.com", "appId": app["id"]},
    ):
        page = ws.http.get("/v1/history/list", headers=ws.headers, params=params).json()["data"]
        assert [h["id"] for h in page["items"]] == [rollback["historyId"]], params
    same = ws.http.post(
        "/v1/state/rollback",
        headers=ws.headers,
        json={"profileId": profile, "toStateId": s1["id"]},
    )
    assert same.json()["data"]["historyId"] is None


# --- snapshots ------------------------------------------------------------------------------


def _snapshot(ws, profile: str, url: str, **body: object) -> httpx.Response:
    return ws.http.post(
        "/v1/state/snapshot",
        headers=ws.headers,
        json={"profileId": profile, "storageUrl": url, **body},
    )


def _settled(ws, state_id: str) -> dict:
    def check() -> dict | None:
        data = ws.http.get(f"/v1/state/{state_id}", headers=ws.headers).json()["data"]
        return data if data["status"] != "materializing" else None

    return wait_for(check)


def test_snapshot_from_our_own_download_url_materializes_asynchronously(ws, consumer):
    app = ws.app()
    publish_version(ws, app, {"v.txt": b"v"})
    source = make_profile(app["id"])
    target = make_profile(app["id"])
    original = publish_state(ws, source, FILES)
    before = publish_state(ws, target, {"old.txt": b"old"})
    data, _ = download(ws, f"/v1/state/download/{original['id']}", method="POST")
    r = _snapshot(ws, target, data["url"], sandboxId="sbx-42")
    assert r.status_code == 202, r.text
    state = r.json()["data"]
    assert state["status"] == "materializing" and state["source"] == "snapshot"
    assert state["files"] == [] and state["sandboxId"] == "sbx-42" and state["number"] == 2
    done = _settled(ws, state["id"])
    assert done["status"] == "ready" and done["isHead"] and done["failure"] is None
    assert {f["name"]: f["hash"] for f in done["files"]} == {n: sri(b) for n, b in FILES.items()}
    assert head_state(target) == state["id"] != before["id"]
    _, archive = download(ws, f"/v1/state/download/{state['id']}", method="POST")
    assert unzip(archive.content) == FILES


def test_snapshot_urls_are_restricted(ws, server):
    app = ws.app()
    profile = make_profile(app["id"])
    for url, status, code in (
        # Well formed, but no configured storage location: refused by policy.
        ("https://example.com/snapshot.zip", 403, "url_refused"),
        ("http://169.254.169.254/latest/meta-data/", 403, "url_refused"),
        ("http://127.0.0.1:6379/", 403, "url_refused"),
        (server + "/harnesslayer/v1/app/list", 403, "url_refused"),
        # One of this server's download URLs, but a token it never signed: as a GET answers.
        (server + "/harnesslayer/v1/blobs/download/bm90LWEtdG9rZW4.c2lnbmF0dXJl", 404, "not_found"),
        # Not an http(s) URL at all.
        ("file:///etc/passwd", 400, "bad_request"),
    ):
        r = _snapshot(ws, profile, url)
        assert r.status_code == status, (url, r.text)
        assert r.json()["error"]["code"] == code, (url, r.text)
    with connection():
        assert State.select().where(State.profile == profile).count() == 0
    assert head_state(profile) is None


def _tar_gz(members: dict[str, bytes], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        folder = tarfile.TarInfo("./skills")
        folder.type = tarfile.DIRTYPE
        archive.addfile(folder)
        for name, data in members.items():
            info = tarfile.TarInfo("./" + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            archive.addfile(info)
    return buffer.getvalue()


class _Files(BaseHTTPRequestHandler):
    content: dict[str, bytes] = {}

    def do_GET(self) -> None:
        body = self.content.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def storage(monkeypatch):
    """A local storage host, allowed by configuration (loopback included) for the test."""
    _Files.content = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    allowed = dataclasses.replace(
        blobs.config(),
        fetch_allow=(base,),
        fetch_allow_private=netguard.AllowList.parse("127.0.0.1/32"),
    )
    saved = blobs.configured()
    blobs.restore(allowed)
    yield base, _Files.content, monkeypatch
    blobs.restore(saved)
    httpd.shutdown()


def test_snapshot_from_an_allowed_storage_host_tar_gz(ws, consumer, storage):
    base, content, monkeypatch = storage
    app = ws.app()
    profile = make_profile(app["id"])
    content["/good.tar.gz"] = _tar_gz(FILES)
    content["/evil.tar.gz"] = _tar_gz({"a.txt": b"a"}, link="link")
    good = _snapshot(ws, profile, base + "good.tar.gz").json()["data"]
    evil = _snapshot(ws, profile, base + "evil.tar.gz").json()["data"]
    missing = _snapshot(ws, profile, base + "missing.zip").json()["data"]
    done = _settled(ws, good["id"])
    assert done["status"] == "ready"
    assert {f["name"] for f in done["files"]} == set(FILES)
    failed = _settled(ws, evil["id"])
    assert failed["status"] == "failed" and failed["failure"]["code"] == "invalid_archive"
    assert _settled(ws, missing["id"])["failure"]["code"] == "fetch_failed"
    assert head_state(profile) == good["id"]
    not_ready = ws.http.post(f"/v1/state/download/{evil['id']}", headers=ws.headers)
    assert not_ready.status_code == 409
    r = ws.http.post(
        "/v1/state/rollback",
        headers=ws.headers,
        json={"profileId": profile, "toStateId": evil["id"]},
    )
    assert r.status_code == 409
    # An allowed host is still refused when it resolves to a private address (no SSRF).
    blobs.restore(dataclasses.replace(blobs.config(), fetch_allow_private=netguard.AllowList()))
    blocked = _snapshot(ws, profile, base + "good.tar.gz").json()["data"]
    result = _settled(ws, blocked["id"])
    assert result["status"] == "failed" and result["failure"]["code"] == "fetch_failed"


def _zip_named(names: dict[bytes, bytes]) -> bytes:
    """A zip whose member names are raw bytes (zipfile cuts names at NUL, so patch them in)."""
    placeholders = {raw.replace(b"\0", b"Q"): raw for raw in names}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for placeholder, data in zip(placeholders, names.values(), strict=True):
            archive.writestr(placeholder.decode(), data)
    data = buffer.getvalue()
    for placeholder, raw in placeholders.items():
        assert len(placeholder) == len(raw) and data.count(placeholder) == 2
        data = data.replace(placeholder, raw)
    return data


def test_damaged_or_nul_named_snapshots_fail_whole_and_leave_the_head(ws, consumer, storage):
    base, content, _ = storage
    app = ws.app()
    profile = make_profile(app["id"])
    content["/good.tar.gz"] = _tar_gz(FILES)
    head = _settled(ws, _snapshot(ws, profile, base + "good.tar.gz").json()["data"]["id"])
    assert head["status"] == "ready" and head_state(profile) == head["id"]
    content["/bad-checksum.tar.gz"] = _bad_checksum_in_the_middle()
    content["/unpadded.tar.gz"] = _unpadded()
    content["/cut.tar.gz"] = gzip.compress(_GOOD_TAR[:_MEMBERS_END])
    content["/nul.tar.gz"] = _nul_named_tar()
    content["/nul.zip"] = _zip_named({b"a\x00b.txt": b"x", b"ok.txt": b"y"})
    content["/tail.zip"] = _zip_named({b"ok.txt": b"y"}) + b"trailing garbage"
    for path in sorted(k for k in content if k != "/good.tar.gz"):
        r = _snapshot(ws, profile, base + path.lstrip("/"))
        assert r.status_code == 202, r.text
        state = _settled(ws, r.json()["data"]["id"])
        assert state["status"] == "failed", (path, state)
        assert state["failure"]["code"] == "invalid_archive", (path, state)
        assert state["files"] == [] and not state["isHead"], path
        assert head_state(profile) == head["id"], path
        refused = ws.http.post(f"/v1/state/download/{state['id']}", headers=ws.headers)
        assert refused.status_code == 409, path
    # The good archive, as a zip with a comment, still imports.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.txt", b"y")
        archive.comment = b"a comment is part of the archive"
    content["/comment.zip"] = buffer.getvalue()
    done = _settled(ws, _snapshot(ws, profile, base + "comment.zip").json()["data"]["id"])
    assert done["status"] == "ready" and head_state(profile) == done["id"]


def test_tar_reader_refuses_unsafe_and_oversized_archives():
    assert snapshots.read_bundle_archive(_tar_gz({"a/b.txt": b"x"}), 100) == {"a/b.txt": b"x"}
    for data in (
        _tar_gz({"../escape": b"x"}),
        _tar_gz({"ok": b"x"}, link="ok-link"),
        b"\x1f\x8bgarbage",
        b"plain text, not an archive",
    ):
        with pytest.raises(blobs.ArchiveError):
            snapshots.read_bundle_archive(data, 1000)
    with pytest.raises(blobs.TooLargeError):
        snapshots.read_bundle_archive(_tar_gz({"big": b"x" * 5000}), 1000)
    # A pax header tarfile would read whole into memory: 20 MB of it, from a 20 KB download.
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 20_000_000
    bomb = gzip.compress(header.tobuf(format=tarfile.USTAR_FORMAT) + b"\0" * header.size)
    assert len(bomb) < 100_000
    with pytest.raises(blobs.TooLargeError):
        snapshots.read_bundle_archive(bomb, 1000)


# Hand-made damaged archives: what a truncated download, a flipped bit or a careless tar
# writer produce. Each must be refused whole, never read up to the damage.
DAMAGE_MEMBERS = {"a.txt": b"a" * 10, "b.txt": b"b" * 700, "c.txt": b"c" * 5}


def _ustar_header(name: bytes, size: int) -> bytes:
    """A ustar header block for `name` (raw bytes, NUL allowed) with a correct checksum."""
    info = tarfile.TarInfo("x")
    info.size = size
    block = bytearray(info.tobuf(format=tarfile.USTAR_FORMAT))
    block[0:100] = name.ljust(100, b"\0")
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _plain_tar(members: dict[str, bytes], fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _bad_checksum_in_the_middle() -> bytes:
    tar = bytearray(_plain_tar(DAMAGE_MEMBERS))
    second = 2 * 512  # a.txt's header and its one data block
    assert tar[second : second + 5] == b"b.txt"
    tar[second + 1] = ord("X")  # the name changes, the stored checksum does not
    return gzip.compress(bytes(tar))


def _unpadded() -> bytes:
    """Members whose data is not padded to 512 bytes (the next header is misaligned)."""
    body = b"".join(
        _ustar_header(name.encode(), len(data)) + data for name, data in DAMAGE_MEMBERS.items()
    )
    return gzip.compress(body + b"\0" * 1024)


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def _nul_named_tar() -> bytes:
    body = _ustar_header(b"a\0b.txt", 1) + _padded(b"x")
    return gzip.compress(body + b"\0" * 1024)


def _nul_in_gnu_long_name() -> bytes:
    long_name = "d/" + "x" * 140 + "Y.txt"
    tar = _plain_tar({long_name: b"x", "ok.txt": b"y"}, fmt=tarfile.GNU_FORMAT)
    assert tar.count(b"xY.txt") == 1  # only in the long-name block (the header keeps 100)
    return gzip.compress(tar.replace(b"xY.txt", b"x\0.txt"))


def _nul_in_pax_path() -> bytes:
    """A name too long for ustar, so tarfile writes it as a pax `path` record."""
    return gzip.compress(_plain_tar({"a\0" + "b" * 150: b"x"}, fmt=tarfile.PAX_FORMAT))


_GOOD_TAR = _plain_tar(DAMAGE_MEMBERS)
_GOOD_GZ = gzip.compress(_GOOD_TAR)
_MEMBERS_END = 3 * 512 + 512 + 1024 + 512  # three headers, then 10, 700 and 5 bytes padded
assert _GOOD_TAR[_MEMBERS_END:].strip(b"\0") == b""  # the end marker and record padding


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(_bad_checksum_in_the_middle(), "header at byte 1024", id="bad-checksum"),
        pytest.param(_unpadded(), "header at byte 1024", id="unpadded-members"),
        pytest.param(gzip.compress(_GOOD_TAR[: 3 * 512 + 300]), "end of data", id="cut-in-data"),
        pytest.param(
            gzip.compress(_GOOD_TAR[: 2 * 512]), "end-of-archive marker", id="cut-at-a-member"
        ),
        pytest.param(
            gzip.compress(_GOOD_TAR[:_MEMBERS_END]),
            "end-of-archive marker",
            id="no-end-marker",
        ),
        pytest.param(
            gzip.compress(_GOOD_TAR[: _MEMBERS_END + 512]),
            "end-of-archive marker",
            id="lone-zero-block",
        ),
        pytest.param(gzip.compress(_GOOD_TAR + b"junk"), "after its end", id="data-after-end"),
        pytest.param(
            gzip.compress(_GOOD_TAR + _plain_tar({"d.txt": b"d"})),
            "after its end",
            id="second-tar-after-end",
        ),
        pytest.param(_GOOD_GZ + b"garbage", "gzip", id="garbage-after-gzip"),
        pytest.param(_GOOD_GZ[:-6], "gzip", id="gzip-truncated"),
        pytest.param(_GOOD_GZ[:-8] + b"\0\0\0\0" + _GOOD_GZ[-4:], "CRC", id="gzip-bad-crc"),
        pytest.param(_nul_named_tar(), "NUL", id="nul-in-ustar-name"),
        pytest.param(_nul_in_gnu_long_name(), "NUL", id="nul-in-gnu-long-name"),
        pytest.param(_nul_in_pax_path(), "NUL|control", id="nul-in-pax-path"),
    ],
)
def test_tar_reader_refuses_damaged_archives_whole(data, message):
    with pytest.raises(blobs.ArchiveError, match=message):
        snapshots.read_bundle_archive(data, 1_000_000)


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_tar_reader_reads_what_tar_writers_make(fmt):
    long_name = "deep/" + "n" * 150 + ".md"  # a GNU long name, or a pax path
    members = {**DAMAGE_MEMBERS, "empty": b""}
    if fmt != tarfile.USTAR_FORMAT:
        members[long_name] = b"long"
    tar = _plain_tar(members, fmt=fmt)
    assert len(tar) % tarfile.RECORDSIZE == 0  # padded to a whole record with zeros
    # gzip's own padding after the stream, and a stream of two gzip members, are fine too
    for data in (gzip.compress(tar), gzip.compress(tar) + b"\0" * 64, _two_members(tar)):
        assert snapshots.read_bundle_archive(data, 1_000_000) == dict(sorted(members.items()))


def _two_members(data: bytes) -> bytes:
    return gzip.compress(data[:1000]) + gzip.compress(data[1000:])


# --- tenancy and deletion -------------------------------------------------------------------


def test_another_organizations_bundles_are_404(ws, other_ws):
    app = ws.app()
    version = publish_version(ws, app, FILES, versionId="same-id")
    profile = make_profile(app["id"])
    state = publish_state(ws, profile, FILES)
    upload = start_version(ws, app, {"x": b"x"})
    rollback = ws.http.post(
        "/v1/version/rollback",
        headers=ws.headers,
        json={"appId": app["id"], "toVersionId": version["id"]},
    )
    assert rollback.status_code == 200
    h = other_ws.headers
    for method, path, body in (
        ("GET", f"/v1/version/{version['id']}", None),
        ("GET", f"/v1/version/download/{version['id']}", None),
        ("GET", f"/v1/state/{state['id']}", None),
        ("POST", f"/v1/state/download/{state['id']}", None),
        ("GET", "/v1/version/list?appId=" + app["id"], None),
        ("GET", "/v1/state/list?profileId=" + profile, None),
        ("GET", "/v1/sync/list?appId=" + app["id"], None),
        ("GET", "/v1/conflict/list?appId=" + app["id"], None),
        ("POST", "/v1/version/upload", {"appId": app["id"], "files": declare({"x": b"x"})}),
        ("POST", "/v1/state/upload", {"profileId": profile, "files": declare({"x": b"x"})}),
        (
            "POST",
            f"/v1/version/upload/{upload['uploadId']}/complete",
            {"appId": app["id"], "versionId": upload["versionId"]},
        ),
        ("POST", "/v1/version/rollback", {"appId": app["id"], "toVersionId": version["id"]}),
        ("POST", "/v1/state/rollback", {"profileId": profile, "toStateId": state["id"]}),
        ("POST", "/v1/version/sync", {"appId": app["id"]}),
        ("POST", "/v1/state/snapshot", {"profileId": profile, "storageUrl": "https://x.io/a"}),
    ):
        r = other_ws.http.request(method, path, headers=h, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    nothing = other_ws.http.get("/v1/history/list", headers=h, params={"profileId": profile})
    assert nothing.json()["data"]["total"] == 0
    unfiltered = other_ws.http.get("/v1/history/list", headers=h)
    assert unfiltered.status_code == 200 and unfiltered.json()["data"]["total"] == 0
    # Client-chosen ids are unique per organization only: the other one may use "same-id".
    mine = other_ws.app()
    assert publish_version(other_ws, mine, {"y": b"y"}, versionId="same-id")["id"] == "same-id"


def test_app_deletion_removes_bundle_rows_but_not_shared_blobs(ws):
    app = ws.app()
    publish_version(ws, app, FILES)
    profile = make_profile(app["id"])
    publish_state(ws, profile, FILES)
    start_version(ws, app, {"pending.txt": b"p"})
    assert ws.http.delete(f"/v1/app/{app['id']}", headers=ws.headers).status_code == 202
    with connection():
        apps_domain.delete_app_records.call_local(app["id"])
        assert App.get_or_none(App.id == app["id"]) is None
        for model in (Version, State, Upload):
            assert model.select().where(model.app == app["id"]).count() == 0
        assert blobs.store().exists(blobs.digest_of(FILES["agent.json"]))


def test_profile_deletion_hides_then_removes_its_states_and_history(ws):
    app = ws.app()
    profile = make_profile(app["id"], identifier="gone@example.com")
    s1 = publish_state(ws, profile, {"m.txt": b"1"})
    publish_state(ws, profile, {"m.txt": b"2"})
    r = ws.http.post(
        "/v1/state/rollback", headers=ws.headers, json={"profileId": profile, "toStateId": s1["id"]}
    )
    history_id = r.json()["data"]["historyId"]
    with connection():
        Profile.update(deleted_at=clock.now()).where(Profile.id == profile).execute()
    assert ws.http.get(f"/v1/state/{s1['id']}", headers=ws.headers).status_code == 404
    assert ws.http.get(f"/v1/history/{history_id}", headers=ws.headers).status_code == 404
    page = ws.http.get("/v1/history/list", headers=ws.headers, params={"appId": app["id"]})
    assert page.json()["data"]["total"] == 0
    with connection():
        profiles_domain.delete_profile_records.call_local(profile)
        assert State.select().where(State.profile == profile).count() == 0
        assert History.select().where(History.profile == profile).count() == 0
        assert Upload.select().where(Upload.profile == profile).count() == 0


def test_deleting_an_app_frees_the_blob_files_only_it_used(ws, monkeypatch):
    import contextlib
    import hashlib
    import secrets as _secrets
    import threading

    from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR

    from agentyard.core import blobs, jobs
    from agentyard.core.store import connection
    from agentyard.harnesslayer import apps as apps_domain
    from agentyard.harnesslayer import bundle_models

    from .people_helpers import running_consumer

    shared = b"shared across apps " + _secrets.token_bytes(8)
    only_a = b"only in app a " + _secrets.token_bytes(8)
    app_a, app_b = ws.app(), ws.app()
    publish_version(ws, app_a, {"shared.md": shared, "mine.md": only_a})
    publish_version(ws, app_b, {"shared.md": shared})
    store = blobs.store()
    digest = {k: hashlib.sha256(v).hexdigest() for k, v in (("s", shared), ("a", only_a))}
    assert store.exists(digest["s"]) and store.exists(digest["a"])

    # The deletion job runs on a consumer (this test's, or another module's that pytest keeps
    # alive meanwhile): wait for it, so it cannot collect blobs concurrently with the calls below.
    finished = threading.Event()

    def on_done(signal, task, *args):
        if task.name == "harnesslayer.delete_app" and task.args == (app_a["id"],):
            finished.set()

    jobs.huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(on_done)
    own = contextlib.nullcontext() if jobs.consumer_running() else running_consumer()
    try:
        with own:
            r = ws.http.delete(f"/v1/app/{app_a['id']}", headers=ws.headers)
            assert r.status_code == 202
            assert finished.wait(15), "the app deletion job did not finish"
    finally:
        jobs.huey.disconnect_signal(on_done)
    with connection():
        apps_domain.delete_app_records.call_local(app_a["id"])  # within the grace period
    assert store.exists(digest["a"])  # written seconds ago: an upload may still need it
    monkeypatch.setattr(bundle_models, "BLOB_GRACE_SECONDS", 0)
    with connection():
        freed = bundle_models.collect_blobs({digest["s"], digest["a"]})
    assert freed == 1
    assert not store.exists(digest["a"]) and store.exists(digest["s"])  # app b still uses it
