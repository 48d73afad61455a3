"""The AISP Hub's contract world: a seeded realm and the Schemathesis schema of the hub.

`hub_world` builds, once per backend, a realm with an API key and a few real resources for the
fuzzer to hit: the acting session (every request acts as it), a peer, sessions that may be
deregistered, memory keys of both, and grants in both directions. A background "peer" answers
the hub's pings so that a ping to a live session is answered (200) instead of timing out.

`aisp_schema` loads the spec the app serves and registers a `map_case` hook that makes
schema-valid (positive) requests realistic: they act as the actor session (named in
`X-AISP-Session`, or for a send, by the envelope's `from` alone, since the world's key
registered several sessions), the envelope is in the test realm, ids often name real
resources, and the rules the spec states in prose but JSON Schema cannot express hold (one
entry per memory key, 64-bit integers). Public keys, grant namespaces and expiries are left
as generated: the spec's schemas say exactly what the hub accepts there. Components generated
invalid (negative) are left as they are.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from schemathesis.core.parameters import ParameterLocation
from schemathesis.python import asgi

from agentyard.aisp import SURFACE
from tests.kit.contract import Chooser, config, load_schema, positive
from tests.kit.tenants import make_key, tenant_name

HUB = "/aisp-hub"
API = HUB + "/api/v1"


# Bounded so the whole contract run stays within a few minutes on two cores.
MAX_EXAMPLES = 15


def public_key_text() -> str:
    der = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return "ed25519:" + base64.b64encode(der).decode()


@dataclass
class HubWorld:
    """Real resources of the test realm, by role."""

    realm: str
    key: str
    actor: str  # every request acts as this session
    peer: str  # a second live session; answers pings
    victims: list[str] = field(default_factory=list)  # may be deregistered by the fuzzer
    own_keys: list[str] = field(default_factory=list)  # memory keys the actor owns
    peer_keys: list[str] = field(default_factory=list)  # memory keys the peer owns
    to_approve: list[str] = field(default_factory=list)  # pending; the actor is the grantor
    to_deny: list[str] = field(default_factory=list)  # pending; the actor is the grantor
    outgoing: list[str] = field(default_factory=list)  # the actor requested them

    @property
    def headers(self) -> dict[str, str]:
        return {"X-AISP-Key": self.key, "X-AISP-Session": self.actor}

    @property
    def peer_headers(self) -> dict[str, str]:
        return {"X-AISP-Key": self.key, "X-AISP-Session": self.peer}


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def _register(client: asgi.ASGIClient, world_key: str, realm: str, name: str) -> str:
    body = {
        "name": name,
        "kind": "interactive",
        "realm": realm,
        "capabilities": ["memory.read", "memory.write", "memory.delete", "delegate.receive"],
        "public_key": public_key_text(),
    }
    return _ok(client.post(f"{API}/sessions", headers={"X-AISP-Key": world_key}, json=body))["id"]


def _grant(client: asgi.ASGIClient, headers: dict[str, str], to: str, capability: str, ns: str):
    body = {"to": to, "capability": capability, "namespace": ns}
    return _ok(client.post(f"{API}/grants", headers=headers, json=body))["grant_id"]


def build_world(app: Any) -> HubWorld:
    realm = tenant_name("contract")
    key = make_key(SURFACE, realm, name="contract").secret
    with asgi.get_client(app) as client:
        actor = _register(client, key, realm, "contract-actor")
        peer = _register(client, key, realm, "contract-peer")
        world = HubWorld(realm, key, actor, peer)
        world.victims = [_register(client, key, realm, f"contract-victim-{i}") for i in range(6)]
        world.own_keys = ["contract.alpha", "contract.beta", "contract.gamma.delta"]
        world.peer_keys = ["peer.secret", "peer.notes.today"]
        for headers, names in (
            (world.headers, world.own_keys),
            (world.peer_headers, world.peer_keys),
        ):
            entries = [{"key": k, "value": {"n": i}} for i, k in enumerate(names)]
            _ok(client.post(f"{API}/memory", headers=headers, json={"entries": entries}))
        # Pending grants the actor may approve or deny (the peer asked the actor) ...
        for i in range(3):
            for pool, verb in ((world.to_approve, "approve"), (world.to_deny, "deny")):
                namespace = f"contract.{verb}{i}"
                pool.append(_grant(client, world.peer_headers, actor, "memory.read", namespace))
        # ... and grants the actor asked the peer for (it may revoke them; deciding is 403).
        for capability, namespace in (
            ("memory.read", "peer.*"),
            ("memory.write", "peer.notes.*"),
            ("delegate.receive", "*"),
        ):
            world.outgoing.append(_grant(client, world.headers, peer, capability, namespace))
    return world


class PingResponder(threading.Thread):
    """Plays the peer's client: polls its inbox for pings and answers each with a pong.

    It talks to the live server over HTTP, not through Schemathesis' in-process ASGI client:
    that client starts the app's lifespan on first use and Schemathesis shuts every lifespan
    down after each test, so a second thread using it races those shutdowns.
    """

    def __init__(self, base_url: str, world: HubWorld, interval: float = 0.05) -> None:
        super().__init__(name="aisp-ping-responder", daemon=True)
        self.base_url = base_url
        self.world = world
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5) as client:
            while not self.stopped.wait(self.interval):
                try:
                    self._answer(client)
                except Exception:  # keep answering; a missed pong shows up as a test failure
                    continue

    def _answer(self, client: httpx.Client) -> None:
        inbox = client.get(
            f"{API}/messages", params={"category": "ping"}, headers=self.world.peer_headers
        )
        if inbox.status_code != 200:
            return
        for ping in inbox.json()["messages"]:
            pong = {
                "aisp": "0.1",
                "from": self.world.peer,
                "to": ping["from"],
                "realm": self.world.realm,
                "category": "pong",
                "payload": {"nonce": ping["payload"].get("nonce")},
                "reply_to": ping["id"],
            }
            client.post(f"{API}/messages", headers=self.world.peer_headers, json=pong)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


@pytest.fixture(scope="module")
def hub_world(app, server: str) -> Iterator[HubWorld]:
    world = build_world(app)
    responder = PingResponder(server, world)
    responder.start()
    yield world
    responder.stop()


def schemathesis_config(world: HubWorld) -> dict[str, object]:
    return config(
        # The realm key is the operations' `ApiKey` credential: Schemathesis sends it as
        # configured auth (and drops its own generated bearer tokens) and checks that
        # requests without it or with a bad one are refused. `X-AISP-Session` stays a
        # fuzzed header; the hook below makes valid ones name the actor session.
        auth={"ApiKey": {"api_key": world.key}},
        max_examples=MAX_EXAMPLES,
        operations=[
            {
                # GET /messages/stream never ends for a client that accepts
                # text/event-stream, as Schemathesis' `Accept: */*` does: read each stream
                # for a second (its events are checked against the spec's InboxEvent),
                # not the default ten. The 426 for an Accept that excludes SSE, and the
                # stream itself, are covered by the behaviour tests in tests/aisp_hub/.
                "include-operation-id": "streamMessages",
                "request-timeout": 1,
            }
        ],
    )


# --- making positive requests realistic ------------------------------------------------------


def realistic(world: HubWorld):
    """The `map_case` hook: positive requests that a real client of the test realm would send.

    Only components generated valid are touched, so negative cases keep their violations.
    Besides, no request may deregister the actor or the peer, or ping the actor (nobody
    answers it): the fuzzer can pick their ids up from earlier responses.
    """

    protected = {world.actor, world.peer}

    def map_case(context: schemathesis.HookContext, case: schemathesis.Case):
        op = case.operation.definition.raw.get("operationId")
        pick = Chooser(case)
        params = case.path_parameters if case.path_parameters is not None else {}
        query = case.query if case.query is not None else {}
        if case.headers is None:
            case.headers = {}
        if positive(case, ParameterLocation.HEADER):
            # The world's key registered several sessions, so a key caller names the one it
            # acts as; without it, the operations that act as a session answer the documented
            # 409 `session_ambiguous`. A send may name it by the envelope's `from` instead.
            case.headers["X-AISP-Session"] = world.actor
            if op == "sendMessage" and pick.coin():
                case.headers.pop("X-AISP-Session")
        path_ok = positive(case, ParameterLocation.PATH)
        query_ok = positive(case, ParameterLocation.QUERY)
        body = case.body if positive(case, ParameterLocation.BODY) else None
        body = body if isinstance(body, dict) else None

        if op == "deregisterSession" and "id" in params:
            if params["id"] in protected:
                params["id"] = pick.random.choice(world.victims)
            if path_ok:
                params["id"] = pick.real_or(world.victims, params["id"])
            if params["id"] in world.victims and pick.coin():
                # The key that registered a session may deregister it acting as no session.
                case.headers.pop("X-AISP-Session", None)
        elif op == "getSession" and path_ok:
            params["id"] = pick.real_or([world.actor, world.peer, *world.victims], params["id"])
        elif op == "pingSession" and "id" in params:
            if params["id"] == world.actor:
                params["id"] = world.peer
            if path_ok:
                params["id"] = pick.real_or([world.peer], params["id"])
        elif op == "deleteMemory" and path_ok:
            params["key"] = pick.real_or(world.own_keys + world.peer_keys, params["key"])
        elif op == "approveGrant" and path_ok:
            params["id"] = pick.real_or(world.to_approve + world.outgoing[:1], params["id"])
        elif op == "denyGrant" and path_ok:
            params["id"] = pick.real_or(world.to_deny + world.outgoing[:1], params["id"])
        elif op == "revokeGrant" and path_ok:
            params["id"] = pick.real_or(world.outgoing, params["id"])
        elif op == "listSessions" and query_ok and "realm" in query:
            query["realm"] = world.realm
        elif op == "readMemory" and query_ok:
            namespaces = ["contract", "contract.*", "peer", "pe", "contract.gamma.*", None]
            namespace = pick.real_or(namespaces, query.get("namespace"))
            if namespace is None:
                query.pop("namespace", None)
            else:
                query["namespace"] = namespace
        elif op == "registerSession" and body is not None:
            body["realm"] = world.realm
        elif op == "sendMessage" and body is not None:
            body["from"] = world.actor
            body["realm"] = world.realm
            real = [world.peer, [world.peer], [world.peer, *world.victims[-2:]]]
            body["to"] = pick.real_or(real, body.get("to"))
        elif op == "requestGrant" and body is not None:
            to = pick.real_or([world.peer], body.get("to"))
            body["to"] = world.peer if to == world.actor else to
        elif op == "writeMemory" and body is not None and isinstance(body.get("entries"), list):
            entries: dict[str, Any] = {}  # a key may appear once per batch
            for entry in body["entries"]:
                entries.setdefault(entry["key"], entry)
            body["entries"] = list(entries.values())
        if body is not None:
            case.body = body
        if case.path_parameters is not None:
            case.path_parameters = params
        if case.query is not None or query:
            case.query = query
        return case

    return map_case


@pytest.fixture(scope="module")
def aisp_schema(app, hub_world: HubWorld):
    schema = load_schema(app, SURFACE, schemathesis_config(hub_world))
    schema.hook(realistic(hub_world))
    return schema
