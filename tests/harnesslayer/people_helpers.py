"""Helpers of the access group, profile and webhook tests: request shortcuts, a local webhook
receiver (Flask on 127.0.0.1) and a fast in-process job consumer."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.serving import make_server

from agentyard.core import jobs

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass
class Hit:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    base: str = ""
    scripts: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses, in turn
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, *statuses: int) -> str:
        """A fresh path answering `statuses` in turn, then 200."""
        path = f"/hook/{secrets.token_hex(6)}"
        with self.lock:
            self.scripts[path] = list(statuses)
        return self.base + path

    def hits_for(self, url: str) -> list[Hit]:
        path = urlsplit(url).path
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def wait(self, url: str, want: int = 1, timeout: float = 10.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        while len(self.hits_for(url)) < want and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.hits_for(url)


def _build(state: Receiver) -> Flask:
    app = Flask("hl-receiver")

    @app.route("/hook/<name>", methods=METHODS)
    def hook(name: str) -> Response:
        hit = Hit(
            request.method,
            request.path,
            dict(request.args),
            dict(request.headers),
            request.get_data(),
        )
        with state.lock:
            state.hits.append(hit)
            script = state.scripts.get(request.path, [])
            status = script.pop(0) if script else 200
        return Response("ok" if status < 400 else "boom", status=status)

    return app


@contextmanager
def serving_receiver() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 for the duration of the block."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    state = Receiver()
    server = make_server("127.0.0.1", 0, _build(state), threaded=True)
    state.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def running_consumer() -> Iterator[None]:
    """Background jobs (webhook deliveries, deletion jobs) run during the block."""
    jobs.start_consumer(workers=2, poll_interval=0.05, scheduler_interval=0.05)
    try:
        yield
    finally:
        jobs.stop_consumer()


# --- request shortcuts -----------------------------------------------------------------------


def error(r, status: int, code: str) -> dict:
    """Assert an error answer; its `error` object."""
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] == code
    return body


def group(ws, app_id: str, **body) -> dict:
    """A new access group (monthly, limit 5, unless told otherwise)."""
    payload = {"appId": app_id, "name": "Pro", "limit": 5, "limitReset": "monthly", **body}
    r = ws.http.post("/v1/access_group/create", headers=ws.headers, json=payload)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def profile(ws, app_id: str, identifier: str, **body) -> dict:
    """A new profile."""
    payload = {"appId": app_id, "identifier": identifier, **body}
    r = ws.http.post("/v1/profile/create", headers=ws.headers, json=payload)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def webhook(ws, app_id: str, url: str, **body) -> dict:
    """A new `profile.created` webhook."""
    payload = {"appId": app_id, "event": "profile.created", "url": url, **body}
    r = ws.http.post("/v1/webhook/create", headers=ws.headers, json=payload)
    assert r.status_code == 201, r.text
    return r.json()["data"]
