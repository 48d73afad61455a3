"""Harnesslayer end to end: publish an app version, open a channel, run it, poll to the end.

    python examples/harnesslayer.py [dk-...]    # or HARNESSLAYER_KEY; else a key is minted

Make a bundle (agent.json), hash it as the API wants (`sha256-` + base64 of the SHA-256
digest, Subresource Integrity style), declare it, PUT it to its signed URL, complete the
upload, create an API channel, run a response and long-poll its events until it finishes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import httpx
from _kit import BASE, expect, key, step


def sri(data: bytes) -> str:
    """A file's `hash`: `sha256-` and the standard padded base64 of its SHA-256 digest."""
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def main() -> None:
    hl = httpx.Client(
        base_url=f"{BASE}/harnesslayer",
        headers={"Authorization": f"Bearer {key('harnesslayer', 'HARNESSLAYER_KEY')}"},
        timeout=60,
    )
    slug = f"demo-{secrets.token_hex(3)}"
    app = expect(
        hl.post("/v1/app/create", json={"slug": slug, "type": "claude", "name": "Demo"}), 201
    )
    app_id = app["data"]["id"]
    step(f"app created: {app_id} ({slug})")

    files = {
        "agent.json": json.dumps({"name": "demo", "model": "claude"}, indent=2).encode() + b"\n"
    }
    declared = [{"name": name, "hash": sri(data)} for name, data in files.items()]
    step(f"bundle: agent.json {declared[0]['hash']}")
    upload = expect(hl.post("/v1/version/upload", json={"appId": app_id, "files": declared}), 201)
    upload = upload["data"]
    for item in upload["uploadUrls"]:  # absolute signed URLs: no API key
        put = httpx.put(
            item["url"],
            content=files[item["name"]],
            headers={"Content-Type": "application/octet-stream"},
            timeout=60,
        )
        expect(put, 204)
        step(f"uploaded {item['name']} to its signed URL")
    version = expect(
        hl.post(
            f"/v1/version/upload/{upload['uploadId']}/complete",
            json={"appId": app_id, "versionId": upload["versionId"]},
        ),
        200,
    )["data"]
    step(f"version published: {version.get('id', upload['versionId'])}")

    channel = expect(
        hl.post(
            "/v1/channel/create",
            json={"appId": app_id, "slug": "web", "type": "api", "name": "Web"},
        ),
        201,
    )["data"]
    step(f"channel created: {channel['id']}")
    run = expect(
        hl.post(
            "/v1/response/run",
            json={
                "appId": app_id,
                "channelId": channel["id"],
                "userId": "user-42",
                "input": "Hello",
            },
        ),
        202,
    )["data"]
    instance = run["instanceId"]
    step(f"run started: instance {instance}")

    cursor, status = 0, "running"
    for _ in range(30):  # long-polls of up to 5 s each
        page = expect(
            hl.get(f"/v1/response/poll/{instance}", params={"after": cursor, "timeoutMs": 5000}),
            200,
        )["data"]
        for event in page["events"]:
            if event["type"] != "message.delta":  # deltas carry the reply text piece by piece
                step(f"event {event['seq']}: {event['type']}")
        cursor, status = page["cursor"], page["status"]
        if status in ("completed", "failed", "stopped") and not page["hasMore"]:
            break
    else:
        raise SystemExit(f"instance {instance} still {status}")
    if status != "completed":
        raise SystemExit(f"instance {instance} ended {status}")
    instance_doc = expect(hl.get(f"/v1/instance/{instance}"), 200)["data"]
    step(f"instance {instance} {instance_doc['status']}: {instance_doc['output']}")
    step("done")


if __name__ == "__main__":
    main()
