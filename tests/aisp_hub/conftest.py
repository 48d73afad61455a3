"""AISP Hub helpers: fresh realms with keys, sessions, signed JWTs, SSE readers."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentyard.aisp.bootstrap import new_secret
from agentyard.core import keys
from agentyard.core.store import connection

# The seed's example session id: not a 26-character ULID, and no session's id.
SEED_SESSION_ID = "sess_01HX9J2N3PQRSTVWXYZ"


def public_key_text(private: Ed25519PrivateKey) -> str:
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "ed25519:" + base64.b64encode(der).decode()


def make_token(private: Ed25519PrivateKey, sub: str, ttl: int = 300, **claims) -> str:
    payload = {"sub": sub, "exp": int(time.time()) + ttl, "iat": int(time.time()), **claims}
    return jwt.encode(payload, private, algorithm="EdDSA")


@dataclass
class SessionHandle:
    id: str
    name: str
    key: str
    private_key: Ed25519PrivateKey

    @property
    def headers(self) -> dict[str, str]:
        """Act as this session through its realm API key."""
        return {"X-AISP-Key": self.key, "X-AISP-Session": self.id}

    def bearer(self, **kw) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(self.private_key, self.id, **kw)}"}


@dataclass
class Realm:
    """A fresh realm with its own API key and an HTTP client for the hub."""

    name: str
    key: str
    http: httpx.Client
    sessions: list[SessionHandle] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-AISP-Key": self.key}

    def another_key(self) -> str:
        """A second API key of this realm."""
        with connection():
            tenant = keys.find_tenant("aisp-hub", self.name)
            _, secret = keys.create_key(tenant, new_secret, name="second")
        return secret

    def session(self, name: str | None = None, capabilities=None, kind="interactive", key=None):
        """Register a session with this realm's key (or `key`, another key of the realm)."""
        key = key or self.key
        private = Ed25519PrivateKey.generate()
        name = name or f"agent-{secrets.token_hex(3)}"
        r = self.http.post(
            "/api/v1/sessions",
            headers={"X-AISP-Key": key},
            json={
                "name": name,
                "kind": kind,
                "realm": self.name,
                "capabilities": capabilities or ["memory.read", "memory.write"],
                "public_key": public_key_text(private),
            },
        )
        assert r.status_code == 200, r.text
        handle = SessionHandle(r.json()["id"], name, key, private)
        self.sessions.append(handle)
        return handle

    def session_with_key(self, key: str, **kw) -> SessionHandle:
        """A session registered by another key of the realm (its only session, if new)."""
        return self.session(key=key, **kw)

    def unknown_session(self) -> SessionHandle:
        """A handle whose id (the seed's example id) names no session."""
        return SessionHandle(SEED_SESSION_ID, "nobody", self.key, Ed25519PrivateKey.generate())

    def send(self, sender: SessionHandle, to, category="inform", payload=None, **extra):
        body = {
            "aisp": "0.1",
            "from": sender.id,
            "to": to if isinstance(to, str | list) else to.id,
            "realm": self.name,
            "category": category,
            "payload": payload or {},
            **extra,
        }
        return self.http.post("/api/v1/messages", headers=sender.headers, json=body)

    def grant(self, holder: SessionHandle, grantor: SessionHandle, capability, namespace=None):
        """Request and approve a grant; returns its id."""
        body = {"to": grantor.id, "capability": capability}
        if namespace:
            body["namespace"] = namespace
        r = self.http.post("/api/v1/grants", headers=holder.headers, json=body)
        assert r.status_code == 200, r.text
        gid = r.json()["grant_id"]
        r = self.http.post(f"/api/v1/grants/{gid}/approve", headers=grantor.headers)
        assert r.status_code == 200, r.text
        return gid


@pytest.fixture
def hub_url(server: str) -> str:
    return server + "/aisp-hub"


@pytest.fixture
def make_realm(hub_url: str) -> Iterator:
    clients = []

    def factory(name: str | None = None) -> Realm:
        name = name or f"realm-{secrets.token_hex(4)}"
        with connection():
            tenant, _ = keys.get_or_create_tenant("aisp-hub", name)
            _, secret = keys.create_key(tenant, new_secret, name="test")
        client = httpx.Client(base_url=hub_url, timeout=10)
        clients.append(client)
        return Realm(name, secret, client)

    yield factory
    for c in clients:
        c.close()


@pytest.fixture
def realm(make_realm) -> Realm:
    return make_realm()


class SseReader:
    """Reads events from an open SSE response, line by line, in a thread-free way."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()

    def next_event(self) -> dict:
        """The next `message` event as {"id": int, "data": dict}; skips comments."""
        event: dict = {}
        for line in self.lines:
            if line.startswith(":"):
                continue
            if line == "":
                if "data" in event:
                    return event
                continue
            name, _, value = line.partition(":")
            value = value.lstrip(" ")
            if name == "id":
                event["id"] = int(value)
            elif name == "data":
                event["data"] = json.loads(value)
            elif name == "event":
                event["event"] = value
        raise EOFError("stream closed")

    def wait_open(self) -> None:
        """Block until the hub's ': stream open' comment (subscription is live)."""
        for line in self.lines:
            if line.startswith(": stream open"):
                return
        raise EOFError("stream closed before opening")
