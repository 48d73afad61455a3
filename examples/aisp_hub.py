"""AISP Hub end to end: two sessions, a message between them received over SSE, JWT auth.

    python examples/aisp_hub.py [aisp_key_...]  # or AISP_KEY; with AISP_REALM (default
                                                # `default`); else a key of realm
                                                # example-aisp-hub is minted

Session A registers with an ed25519 public key and from then on authenticates with an EdDSA
JWT (`Authorization: Bearer`, no API key); session B opens its Server-Sent Events stream, A
sends B a message, B receives it as an SSE event, and B's inbox has nothing unread left.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from collections.abc import Iterator

import httpx
import jwt
from _kit import BASE, expect, key, step
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def public_key_text(private: Ed25519PrivateKey) -> str:
    """`ed25519:` + base64 of the public key's SPKI DER (44 bytes, starts MCowBQYDK2VwAyEA)."""
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "ed25519:" + base64.b64encode(der).decode()


def bearer(private: Ed25519PrivateKey, session_id: str) -> dict[str, str]:
    """A session's JWT: EdDSA-signed, `sub` the session id, `exp` at most an hour ahead."""
    claims = {"sub": session_id, "exp": int(time.time()) + 300}
    return {"Authorization": f"Bearer {jwt.encode(claims, private, algorithm='EdDSA')}"}


def next_message(lines: Iterator[str]) -> dict[str, str]:
    """The next `event: message` of an SSE stream: its fields (`id`, `event`, `data`)."""
    event: dict[str, str] = {}
    for line in lines:
        if line.startswith(":"):  # comments: ": stream open", heartbeats
            continue
        if line:
            field, _, value = line.partition(":")
            event[field] = value.strip()
        elif event.get("event") == "message":
            return event
        else:
            event = {}
    raise SystemExit("the stream ended before a message arrived")


def main() -> None:
    minted = len(sys.argv) < 2 and not os.environ.get("AISP_KEY")
    realm = "example-aisp-hub" if minted else os.environ.get("AISP_REALM", "default")
    api_key = key("aisp-hub", "AISP_KEY")
    hub = httpx.Client(base_url=f"{BASE}/aisp-hub", headers={"X-AISP-Key": api_key}, timeout=30)
    private = Ed25519PrivateKey.generate()
    a_body = {"name": "sender", "kind": "interactive", "realm": realm}
    a = expect(
        hub.post("/api/v1/sessions", json={**a_body, "public_key": public_key_text(private)}), 200
    )
    a = a["id"]
    step(f"session A registered with an ed25519 public key: {a}")
    b_body = {"name": "worker", "kind": "executor", "realm": realm}
    b = expect(hub.post("/api/v1/sessions", json=b_body), 200)["id"]
    step(f"session B registered: {b}")

    # A, from here on, with its JWT alone (a fresh client: no API key)
    as_a = httpx.Client(base_url=f"{BASE}/aisp-hub", timeout=30)
    me = expect(as_a.get(f"/api/v1/sessions/{a}", headers=bearer(private, a)), 200)
    step(f"JWT bearer (EdDSA, sub = A) accepted: A is {me['status']}")

    headers = {"Accept": "text/event-stream", "X-AISP-Session": b}
    with hub.stream("GET", "/api/v1/messages/stream", headers=headers) as response:
        if response.status_code != 200:
            response.read()
            expect(response, 200)
        lines = response.iter_lines()
        step(f"B's SSE stream open: {next(lines)!r}")
        envelope = {
            "aisp": "0.1",
            "from": a,
            "to": b,
            "realm": realm,
            "category": "inform",
            "payload": {"hello": "from A"},
        }
        sent = expect(as_a.post("/api/v1/messages", json=envelope, headers=bearer(private, a)), 200)
        step(f"A sent {sent['message_id']} with its JWT: {sent['status']}")
        event = next_message(lines)
        message = json.loads(event["data"])
        step(f"B received event {event['id']} over SSE: {json.dumps(message['payload'])}")
        if message["id"] != sent["message_id"] or message["from"] != a:
            raise SystemExit(f"received {message['id']} from {message['from']}, not A's message")

    inbox = expect(hub.get("/api/v1/messages", headers={"X-AISP-Session": b}), 200)
    step(f"B's inbox: {inbox['unread_count']} unread (the stream marked the message read)")
    for session in (a, b):
        expect(hub.delete(f"/api/v1/sessions/{session}"), 200)
    step("sessions A and B deregistered")
    step("done")


if __name__ == "__main__":
    main()
