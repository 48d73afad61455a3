"""A local fake Sendblue that speaks the documented wire protocol, for any test that texts.

    with FakeSendblue() as fake:
        client = SendblueClient(fake.api_key_id, fake.api_secret, base_url=fake.url)
        fake.fail_next(2, http_status=429)            # then succeeds
        sent = client.send("+15551230001", "hi", from_number=fake.line)
        fake.sent[-1]["content"] == "hi"
        fake.set_status(sent.handle, "DELIVERED")     # also POSTs its status_callback, if any
        deliver_inbound(app_url, "whsec", "+15551230001", fake.line, "hello")  # user texts us

Served by werkzeug's `make_server` on 127.0.0.1 (free port), threaded, in a daemon thread.
Independent of agentyard.messaging on purpose (its own E.164 and length checks).

- Every request is recorded (`fake.requests`: method, path, lower-cased headers, json, args).
- Both `sb-api-key-id` and `sb-api-secret-key` must match, else 401.
- `POST /api/send-message`: `number` and `from_number` required and E.164 (and one of
  `lines` when given), `content` and/or `media_url`, content < 18,996 UTF-16 units, a known
  `send_style`; else 400 with `error_code` 4000. Success: the documented response object with
  `status: "QUEUED"` and a uuid `message_handle`.
- `GET /api/status?handle=`: the stored message (404 / 10002 for an unknown handle).
- `POST /api/send-typing-indicator`: `{number, status: "SENT", error_message: null}`.
- `fail_next(n, http_status=..., error_code=...)`: the next n API calls (optionally only on one
  path) fail: HTTP 429 → error_code 4001, 500 → 5000 by default; 200 needs an error_code.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from flask import Flask, Response, jsonify, request

from tests.local_server import LocalServer

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
MAX_CONTENT = 18_996  # content must be shorter than this
SEND_STYLES = {
    "celebration",
    "shooting_star",
    "fireworks",
    "lasers",
    "love",
    "confetti",
    "balloons",
    "spotlight",
    "echo",
    "invisible",
    "gentle",
    "loud",
    "slam",
}
DEFAULT_CODES = {400: 4000, 429: 4001, 500: 5000, 503: 5003}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _e164(value: object) -> bool:
    return isinstance(value, str) and E164.fullmatch(value) is not None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Recorded:
    """A request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    args: dict[str, str]


@dataclass
class Failure:
    """A scripted failure for the next API call(s)."""

    http_status: int = 500
    error_code: int | None = None
    error_message: str | None = None
    retry_after: float | None = None
    path: str | None = None  # only calls to this path; None = any API path


@dataclass
class _Script:
    failures: deque[Failure] = field(default_factory=deque)


def inbound_payload(
    from_number: str,
    to_number: str,
    content: str,
    *,
    media_url: str = "",
    message_handle: str | None = None,
    service: str = "iMessage",
    group_id: str = "",
    account_email: str = "fake@sendblue.test",
    **overrides: Any,
) -> dict[str, Any]:
    """The documented `receive` webhook body: `from_number` (the user) texted `to_number`."""
    now = _now()
    payload: dict[str, Any] = {
        "accountEmail": account_email,
        "content": content,
        "is_outbound": False,
        "status": "RECEIVED",
        "error_code": None,
        "error_message": None,
        "error_reason": None,
        "message_handle": message_handle or str(uuid.uuid4()),
        "date_sent": now,
        "date_updated": now,
        "from_number": from_number,
        "number": from_number,
        "to_number": to_number,
        "was_downgraded": None,
        "plan": "blue",
        "media_url": media_url,
        "message_type": "message",
        "group_id": group_id,
        "participants": [],
        "send_style": "",
        "opted_out": False,
        "error_detail": None,
        "sendblue_number": to_number,
        "service": service,
        "group_display_name": None,
    }
    payload.update(overrides)
    return payload


def deliver_payload(
    url: str, secret: str | None, payload: dict[str, Any], *, timeout: float = 5
) -> httpx.Response:
    """POST a webhook body like Sendblue does (`sb-signing-secret` header when `secret`)."""
    headers = {"sb-signing-secret": secret} if secret is not None else {}
    # trust_env=False: local receivers only; never route through a configured proxy
    return httpx.post(url, json=payload, headers=headers, timeout=timeout, trust_env=False)


def deliver_inbound(
    url: str,
    secret: str | None,
    from_number: str,
    to_number: str,
    content: str,
    **payload_options: Any,
) -> httpx.Response:
    """Simulate the user `from_number` texting our line `to_number`: POST the webhook to `url`.

    `payload_options` go to `inbound_payload` (media_url, message_handle, service, ...).
    """
    payload = inbound_payload(from_number, to_number, content, **payload_options)
    return deliver_payload(url, secret, payload)


class FakeSendblue:
    """Sendblue's REST API on a local port; see the module docstring."""

    def __init__(
        self,
        api_key_id: str = "test-sb-key-id",
        api_secret: str = "test-sb-secret-key",
        *,
        line: str = "+15550001111",
        lines: set[str] | None = None,
        account_email: str = "fake@sendblue.test",
    ) -> None:
        self.api_key_id = api_key_id
        self.api_secret = api_secret
        self.line = line  # a registered line, for convenience
        self.lines = lines  # when set, from_number must be one of these
        self.account_email = account_email
        self.requests: list[Recorded] = []
        self.messages: dict[str, dict[str, Any]] = {}  # handle -> message, in send order
        self.typing: list[dict[str, Any]] = []
        self._script = _Script()
        self._lock = threading.Lock()
        self.app = Flask("FakeSendblue")
        self.app.add_url_rule("/api/send-message", "send", self._send, methods=["POST"])
        self.app.add_url_rule("/api/status", "status", self._status, methods=["GET"])
        self.app.add_url_rule(
            "/api/send-typing-indicator", "typing", self._typing, methods=["POST"]
        )
        self._server = LocalServer(self.app)
        self.port = self._server.port
        self.url = self._server.url

    # --- test controls -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.url

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Accepted messages, in order."""
        with self._lock:
            return list(self.messages.values())

    def calls(self, path: str) -> list[Recorded]:
        """Recorded requests to `path`."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def fail_next(
        self,
        count: int = 1,
        *,
        http_status: int = 500,
        error_code: int | None = None,
        error_message: str | None = None,
        retry_after: float | None = None,
        path: str | None = None,
    ) -> None:
        """Make the next `count` authenticated API calls (to `path`, if given) fail."""
        if http_status == 200 and not error_code:
            raise ValueError("a failing 200 needs an error_code")
        code = error_code if error_code is not None else DEFAULT_CODES.get(http_status)
        with self._lock:
            for _ in range(count):
                self._script.failures.append(
                    Failure(http_status, code, error_message, retry_after, path)
                )

    def set_status(
        self, handle: str, status: str, *, notify: bool = True, secret: str | None = None
    ) -> httpx.Response | None:
        """Move a message to `status`; POST its `status_callback` (if any) when `notify`."""
        with self._lock:
            message = self.messages[handle]
            message["status"] = status
            message["date_updated"] = _now()
            callback = message.get("status_callback")
            payload = {k: v for k, v in message.items() if k != "status_callback"}
        if notify and callback:
            return deliver_payload(callback, secret, payload)
        return None

    def deliver_inbound(
        self,
        url: str,
        secret: str | None,
        from_number: str,
        content: str,
        *,
        to_number: str | None = None,
        **payload_options: Any,
    ) -> httpx.Response:
        """The user `from_number` texts this fake's line (or `to_number`)."""
        payload_options.setdefault("account_email", self.account_email)
        return deliver_inbound(
            url, secret, from_number, to_number or self.line, content, **payload_options
        )

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> FakeSendblue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the wire protocol ---------------------------------------------------------------

    def _record(self) -> Any:
        body = request.get_json(silent=True)
        with self._lock:
            self.requests.append(
                Recorded(
                    request.method,
                    request.path,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    dict(request.args),
                )
            )
        return body

    @staticmethod
    def _error(status: int, code: int | None, message: str, **extra: Any) -> Response:
        body = {"status": "ERROR", "error_code": code, "error_message": message, **extra}
        resp = jsonify(body)
        resp.status_code = status
        return resp

    def _gate(self) -> Response | None:
        """401 without both credentials; a scripted failure if one is due."""
        if (
            request.headers.get("sb-api-key-id") != self.api_key_id
            or request.headers.get("sb-api-secret-key") != self.api_secret
        ):
            return self._error(401, None, "Unauthorized: invalid sb-api-key-id/sb-api-secret-key")
        with self._lock:
            failures = self._script.failures
            due = next((f for f in failures if f.path in (None, request.path)), None)
            if due is not None:
                failures.remove(due)
        if due is None:
            return None
        resp = self._error(
            due.http_status,
            due.error_code,
            due.error_message or f"scripted failure {due.error_code or due.http_status}",
            message_handle=None,
        )
        if due.retry_after is not None:
            resp.headers["Retry-After"] = str(due.retry_after)
        return resp

    def _send(self) -> Response:
        body = self._record()
        refused = self._gate()
        if refused is not None:
            return refused
        problem = self._validate(body)
        if problem:
            return self._error(400, 4000, problem, message_handle=None)
        now = _now()
        handle = str(uuid.uuid4())
        message = {
            "accountEmail": self.account_email,
            "content": body.get("content") or "",
            "is_outbound": True,
            "status": "QUEUED",
            "error_code": None,
            "error_message": None,
            "message_handle": handle,
            "date_sent": now,
            "date_updated": now,
            "from_number": body["from_number"],
            "number": body["number"],
            "to_number": body["number"],
            "was_downgraded": None,
            "plan": "blue",
            "media_url": body.get("media_url") or "",
            "message_type": "message",
            "group_id": "",
            "participants": [],
            "send_style": body.get("send_style") or "",
            "opted_out": False,
            "error_detail": None,
        }
        with self._lock:
            self.messages[handle] = {**message, "status_callback": body.get("status_callback")}
        return jsonify(message)

    def _validate(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "request body must be a JSON object"
        for name in ("number", "from_number"):
            if not body.get(name):
                return f"{name} is required"
            if not _e164(body[name]):
                return f"{name} must be in E.164 format"
        if self.lines is not None and body["from_number"] not in self.lines:
            return "from_number is not one of your registered Sendblue numbers"
        content, media = body.get("content"), body.get("media_url")
        if content is not None and not isinstance(content, str):
            return "content must be a string"
        if media is not None and not isinstance(media, str):
            return "media_url must be a string"
        if not content and not media:
            return "content or media_url is required"
        if content and _utf16_len(content) >= MAX_CONTENT:
            return f"content must be shorter than {MAX_CONTENT} characters"
        style = body.get("send_style")
        if style is not None and style not in SEND_STYLES:
            return "invalid send_style"
        callback = body.get("status_callback")
        if callback is not None and not isinstance(callback, str):
            return "status_callback must be a URL"
        return None

    def _status(self) -> Response:
        self._record()
        refused = self._gate()
        if refused is not None:
            return refused
        handle = request.args.get("handle")
        if not handle:
            return self._error(400, 4000, "handle is required")
        with self._lock:
            message = self.messages.get(handle)
            found = (
                None
                if message is None
                else {k: v for k, v in message.items() if k != "status_callback"}
            )
        if found is None:
            return self._error(404, 10002, "failed to resolve message status")
        return jsonify(found)

    def _typing(self) -> Response:
        body = self._record()
        refused = self._gate()
        if refused is not None:
            return refused
        number = body.get("number") if isinstance(body, dict) else None
        if not _e164(number):
            resp = jsonify({"number": number, "status": "ERROR", "error_message": "bad number"})
            resp.status_code = 400
            return resp
        with self._lock:
            self.typing.append(body)
        return jsonify({"number": number, "status": "SENT", "error_message": None})
