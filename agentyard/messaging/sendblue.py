"""Outbound iMessage/SMS through Sendblue, an offline stand-in, and inbound webhook helpers.

Outbound: `Messenger` is what the product codes against. `SendblueClient` is the real one
(sync httpx, meant for background jobs); `OfflineMessenger` records messages without any
network and labels them (status "OFFLINE", handles "offline-..."). `messenger_for(...)` picks
one: offline when no credentials are configured, Sendblue otherwise.

Errors are `SendblueError(code, message, http_status, retryable)`; `code` is Sendblue's
`error_code` when one is known. What the client does with each answer:

| Sendblue answers                                | raised as                      | retried |
|-------------------------------------------------|--------------------------------|---------|
| 2xx, `error_code` 0/null, a `message_handle`    | (success) `SentMessage`        | -       |
| HTTP 429, or `error_code` 4001 / 5003           | rate limited, retryable        | yes     |
| HTTP 5xx, or `error_code` 5000                  | server error, retryable        | yes     |
| `error_code` 4000 / 4002 / 10001 (any HTTP)     | validation / blacklisted /     | no      |
|                                                 | failed to send                 |         |
| other `error_code` (e.g. 10002), other 4xx      | not retryable                  | no      |
| 401 / 403                                       | credentials refused            | no      |
| 2xx with status "ERROR", or no message_handle   | not retryable                  | no      |
| connect error / connect or pool timeout         | code None, retryable           | yes     |
| read timeout / dropped connection on a send     | code None, outcome unknown     | no      |
| same on `status()` (a GET, idempotent)          | code None, retryable           | yes     |

"Any code besides 0 or null is a failure" (Sendblue docs) applies to 200 answers too. A
`Retry-After` header sets the wait (capped by `max_retry_after`; longer → give up, retryable).
Otherwise retry n waits `backoff * 2**n` seconds (capped by `max_backoff`), via the injectable
`sleep`. Retrying a send after a 5xx can duplicate the message if Sendblue did queue it; that is
the documented trade-off. Unknown statuses (anything but "ERROR") are passed through as-is.

Validation happens locally, before any request (`SendblueValidationError`, code 4000):
numbers must be E.164 (`+` then 2-15 ASCII digits, first not 0); there must be text or a
`media_url`; URLs must be absolute http(s); `send_style` must be one Sendblue knows.

Long text: Sendblue takes < 18,996 characters per message. Longer text is split by
`split_text` into several messages, sent in order, each at most `MAX_CONTENT_CHARS`
(18,995) UTF-16 code units (what a JavaScript API counts; never more than Python's `len`),
cutting at the last paragraph break, else line break, else whitespace in the second half of
the window, else hard. No "(1/2)" markers are added; whitespace at the cuts is dropped. The
media goes with the first part; every part carries the `status_callback`. The `SentMessage`
returned describes the last part, `handles` lists every part's handle. If a later part fails,
the `SendblueError` carries the parts already sent in `sent` (don't resend those).

Inbound: `parse_inbound(payload)` turns a webhook body into an `InboundMessage`; outbound
echoes and status callbacks (`is_outbound` true, or a status other than "RECEIVED") come
back with `ignore_reason` set — answer them 2xx too, or Sendblue re-delivers. Dedupe on
`message_handle` (see `Deduper`). `verify_signing_secret(expected, header)` checks the
`sb-signing-secret` header (a plain shared secret, not an HMAC). A channel without a
configured secret is refused unless the caller passes `allow_unsigned=True`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("agentyard.messaging")

DEFAULT_BASE_URL = "https://api.sendblue.co"
SIGNING_SECRET_HEADER = "sb-signing-secret"
MAX_CONTENT_CHARS = 18_995  # Sendblue: content must be < 18,996 characters
OFFLINE_STATUS = "OFFLINE"

SEND_STYLES = frozenset(
    {
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
)

# Sendblue error codes (docs/outbound.md).
ERROR_CODES = {
    4000: "validation error",
    4001: "rate limit exceeded",
    4002: "number is blacklisted",
    5000: "internal server error",
    5003: "server rate limit exceeded",
    10001: "failed to send message",
    10002: "failed to resolve message status",
}
RETRYABLE_CODES = frozenset({4001, 5000, 5003})
FINAL_CODES = frozenset({4000, 4002, 10001})

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")  # fullmatch; [0-9] so no non-ASCII digits


# --- errors and values -----------------------------------------------------------------------


class SendblueError(Exception):
    """A send/status call failed. `code` is Sendblue's error_code when known."""

    def __init__(
        self,
        code: int | None,
        message: str,
        http_status: int | None = None,
        retryable: bool = False,
        *,
        sent: tuple[SentMessage, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retryable = retryable
        self.sent = sent  # parts of a split message already accepted before the failure
        self.retry_after = retry_after  # seconds Sendblue asked us to wait (Retry-After)

    def __str__(self) -> str:
        bits = [f"code {self.code}" if self.code is not None else None]
        bits.append(f"HTTP {self.http_status}" if self.http_status is not None else None)
        bits.append("retryable" if self.retryable else None)
        extra = ", ".join(b for b in bits if b)
        return f"{self.message} ({extra})" if extra else self.message


class SendblueValidationError(SendblueError, ValueError):
    """Refused locally, before any request (code 4000, like Sendblue's validation error)."""

    def __init__(self, message: str) -> None:
        super().__init__(4000, message, None, False)


@dataclass(frozen=True)
class SentMessage:
    """An accepted message: Sendblue's `message_handle`, its status then, the raw answer.

    For text split into several messages this describes the last part; `handles` lists all.
    """

    handle: str
    status: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    handles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.handles:
            object.__setattr__(self, "handles", (self.handle,))

    @property
    def offline(self) -> bool:
        """True when no message left the process (the offline messenger)."""
        return self.status == OFFLINE_STATUS


@runtime_checkable
class Messenger(Protocol):
    """Outbound iMessage/SMS provider."""

    def send(
        self,
        to: str,
        text: str,
        *,
        from_number: str,
        media_url: str | None = None,
        status_callback: str | None = None,
    ) -> SentMessage:
        """Send `text` (and/or `media_url`) from our line `from_number` to `to`."""
        ...

    def status(self, handle: str) -> str:
        """The current status of a sent message (QUEUED, SENT, DELIVERED, ERROR, ...)."""
        ...

    def typing(self, to: str, from_number: str) -> None:
        """Show a typing indicator; best-effort, never raises."""
        ...


# --- validation and splitting ----------------------------------------------------------------


def is_e164(number: object) -> bool:
    """True for `+` followed by 2-15 ASCII digits, the first not 0."""
    return isinstance(number, str) and _E164.fullmatch(number) is not None


def require_e164(number: object, name: str = "number") -> str:
    """`number` if it is E.164, else SendblueValidationError."""
    if not is_e164(number):
        raise SendblueValidationError(f"{name} must be an E.164 phone number like +15551234567")
    return number  # type: ignore[return-value]


def _require_url(url: object, name: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise SendblueValidationError(f"{name} must be an absolute http(s) URL")
    return url  # type: ignore[return-value]


def mask_number(number: str) -> str:
    """A phone number for logs: country-ish prefix and last 4 digits only."""
    if len(number) <= 6:
        return "***"
    return f"{number[:2]}***{number[-4:]}"


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def content_length(text: str) -> int:
    """Length in UTF-16 code units (what Sendblue's limit is most likely counted in)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def split_text(text: str, limit: int = MAX_CONTENT_CHARS) -> list[str]:
    """`text` as parts of at most `limit` UTF-16 units, cut at natural boundaries.

    Text that fits is returned unchanged as one part. Otherwise each cut is at the last
    paragraph break, else line break, else whitespace in the second half of the window, else
    hard (never inside a character). Whitespace at the cuts is dropped; empty parts never occur.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    if content_length(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while content_length(rest) > limit:
        end, used = 0, 0
        while end < len(rest) and used + _units(rest[end]) <= limit:
            used += _units(rest[end])
            end += 1
        window = rest[:end]
        floor = end // 2
        cut = -1
        for sep in ("\n\n", "\n"):
            at = window.rfind(sep, floor)
            if at > 0:
                cut = at
                break
        if cut <= 0:
            cut = next((i for i in range(end - 1, floor, -1) if window[i].isspace()), end)
        head = rest[:cut].rstrip()
        rest = rest[cut:].lstrip()
        if head:
            parts.append(head)
    if rest.strip():
        parts.append(rest)
    return parts


def _check_send(
    to: str,
    text: str,
    from_number: str,
    media_url: str | None,
    status_callback: str | None,
    send_style: str | None,
) -> list[str]:
    """Validate a send; the text parts to send (at least one, maybe "" with media)."""
    require_e164(to, "number")
    require_e164(from_number, "from_number")
    if text is not None and not isinstance(text, str):
        raise SendblueValidationError("content must be a string")
    has_text = bool(text and text.strip())
    if media_url is not None:
        _require_url(media_url, "media_url")
    if not has_text and media_url is None:
        raise SendblueValidationError("content or media_url is required")
    if status_callback is not None:
        _require_url(status_callback, "status_callback")
    if send_style is not None and send_style not in SEND_STYLES:
        raise SendblueValidationError(f"unknown send_style {send_style!r}")
    return split_text(text) if has_text else [""]


# --- the Sendblue client ---------------------------------------------------------------------


def _int_code(value: object) -> int | None:
    """Sendblue's error_code as an int; None for 0/null/empty; -1 when unreadable."""
    if value is None or value == "" or value is False:
        return None
    try:
        code = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return -1
    return code or None


def _retry_after(headers: httpx.Headers) -> float | None:
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class SendblueClient:
    """Sendblue's REST API over sync httpx: send, status, typing indicator.

    `transport` (an httpx.BaseTransport) and `sleep` are for tests. Thread-safe; close() or
    use as a context manager to release the connection pool.
    """

    def __init__(
        self,
        api_key_id: str,
        api_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10,
        max_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key_id or not api_secret:
            raise ValueError("Sendblue needs both an API key id and an API secret key")
        base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Sendblue base URL must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self._client = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={
                "sb-api-key-id": api_key_id,
                "sb-api-secret-key": api_secret,
                "accept": "application/json",
                "user-agent": "agentyard-messaging/1",
            },
        )

    def __repr__(self) -> str:
        return f"SendblueClient(base_url={self.base_url!r})"  # never the secret

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> SendblueClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # public API

    def send(
        self,
        to: str,
        text: str,
        *,
        from_number: str,
        media_url: str | None = None,
        status_callback: str | None = None,
        send_style: str | None = None,
    ) -> SentMessage:
        """POST /api/send-message (several times for long text); see the module docstring."""
        parts = _check_send(to, text, from_number, media_url, status_callback, send_style)
        sent: list[SentMessage] = []
        for n, part in enumerate(parts):
            body: dict[str, Any] = {"number": to, "from_number": from_number}
            if part:
                body["content"] = part
            if media_url is not None and n == 0:
                body["media_url"] = media_url
            if send_style is not None:
                body["send_style"] = send_style
            if status_callback is not None:
                body["status_callback"] = status_callback
            try:
                data = self._call("POST", "/api/send-message", json=body, idempotent=False)
                sent.append(self._accepted(data))
            except SendblueError as err:
                err.sent = tuple(sent)
                raise
            log.info(
                "sendblue: sent part %d/%d to %s (handle %s, %s)",
                n + 1,
                len(parts),
                mask_number(to),
                sent[-1].handle,
                sent[-1].status,
            )
        last = sent[-1]
        return SentMessage(last.handle, last.status, last.raw, tuple(s.handle for s in sent))

    def status(self, handle: str) -> str:
        """GET /api/status?handle=...: the message's status as Sendblue reports it."""
        if not isinstance(handle, str) or not handle.strip():
            raise SendblueValidationError("handle is required")
        data = self._call("GET", "/api/status", params={"handle": handle}, idempotent=True)
        status = data.get("status")
        if not isinstance(status, str) or not status:
            raise SendblueError(None, "Sendblue status answer without a status", 200, False)
        return status

    def typing(self, to: str, from_number: str) -> None:
        """POST /api/send-typing-indicator once; failures are logged and swallowed."""
        try:
            require_e164(to, "number")
            require_e164(from_number, "from_number")
            body = {"number": to, "from_number": from_number}
            data = self._call(
                "POST", "/api/send-typing-indicator", json=body, idempotent=False, retries=0
            )
            if str(data.get("status", "")).upper() == "ERROR":
                log.info("sendblue: typing indicator refused: %s", data.get("error_message"))
        except (SendblueError, httpx.HTTPError) as exc:
            log.info("sendblue: typing indicator to %s failed: %s", mask_number(to), exc)

    # plumbing

    def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        retries: int | None = None,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One API call with retries; the JSON object of a 2xx answer without an error_code."""
        max_retries = self.max_retries if retries is None else retries
        attempt = 0
        while True:
            wait: float | None = None
            try:
                resp = self._client.request(method, path, json=json, params=params)
                data = self._body(resp)
                if resp.is_success:
                    self._raise_for_body(data, resp.status_code)
                    return data
                raise self._http_error(resp, data)
            except SendblueError as err:
                if not err.retryable or attempt >= max_retries:
                    raise
                wait = err.retry_after
                if wait is not None and wait > self.max_retry_after:
                    raise
                last: Exception = err
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The request never reached Sendblue: always safe to try again.
                if attempt >= max_retries:
                    raise SendblueError(None, f"cannot reach Sendblue: {exc}", None, True) from exc
                last = exc
            except httpx.HTTPError as exc:
                retryable = idempotent
                msg = f"Sendblue request failed: {type(exc).__name__}: {exc}"
                if not idempotent:
                    msg += " (the message may or may not have been sent)"
                if not retryable or attempt >= max_retries:
                    raise SendblueError(None, msg, None, retryable) from exc
                last = exc
            if wait is None:
                wait = min(self.max_backoff, self.backoff * (2**attempt))
            log.warning(
                "sendblue: %s %s failed (%s); retry %d/%d in %.2fs",
                method,
                path,
                last,
                attempt + 1,
                max_retries,
                wait,
            )
            self.sleep(wait)
            attempt += 1

    @staticmethod
    def _body(resp: httpx.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _raise_for_body(data: dict[str, Any], http_status: int) -> None:
        """A 2xx answer is still a failure when it carries a non-zero, non-null error_code."""
        code = _int_code(data.get("error_code"))
        if code is not None:
            raise SendblueError(
                code,
                str(data.get("error_message") or ERROR_CODES.get(code, "Sendblue error")),
                http_status,
                code in RETRYABLE_CODES,
            )

    @staticmethod
    def _http_error(resp: httpx.Response, data: dict[str, Any]) -> SendblueError:
        status = resp.status_code
        code = _int_code(data.get("error_code"))
        message = data.get("error_message") or data.get("message") or data.get("error")
        if status in (401, 403):
            message = f"Sendblue refused the API credentials: {message or resp.reason_phrase}"
        elif not message:
            message = ERROR_CODES.get(code or 0) or f"Sendblue answered HTTP {status}"
        if code in FINAL_CODES:
            retryable = False
        else:
            retryable = status == 429 or status >= 500 or code in RETRYABLE_CODES
        return SendblueError(
            code, str(message), status, retryable, retry_after=_retry_after(resp.headers)
        )

    @staticmethod
    def _accepted(data: dict[str, Any]) -> SentMessage:
        status = data.get("status")
        status = status if isinstance(status, str) and status else "UNKNOWN"
        if status.upper() == "ERROR":
            raise SendblueError(
                None,
                str(data.get("error_message") or "Sendblue reported status ERROR"),
                200,
                False,
            )
        handle = data.get("message_handle")
        if not isinstance(handle, str) or not handle:
            raise SendblueError(None, "Sendblue accepted without a message_handle", 200, False)
        return SentMessage(handle, status, data, (handle,))


# --- the offline messenger -------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineRecord:
    """One message or typing indicator the offline messenger would have sent."""

    kind: str  # "message" | "typing"
    to: str
    from_number: str
    content: str = ""
    media_url: str | None = None
    status_callback: str | None = None
    send_style: str | None = None
    handle: str | None = None


class OfflineMessenger:
    """Sends nothing: records messages, logs them, answers status "OFFLINE".

    Same validation and splitting as SendblueClient. Handles are deterministic:
    `offline-<n>-<digest>` where n counts this messenger's messages (from 1) and digest hashes
    the message, so a fresh messenger given the same sends returns the same handles.
    """

    status_label = OFFLINE_STATUS

    def __init__(self) -> None:
        self.records: list[OfflineRecord] = []
        self._lock = threading.Lock()
        self._count = 0

    @property
    def sent(self) -> list[OfflineRecord]:
        """The messages (not typing indicators) recorded so far, one per part."""
        return [r for r in self.records if r.kind == "message"]

    def send(
        self,
        to: str,
        text: str,
        *,
        from_number: str,
        media_url: str | None = None,
        status_callback: str | None = None,
        send_style: str | None = None,
    ) -> SentMessage:
        """Record the message (split like Sendblue would) and return an OFFLINE SentMessage."""
        parts = _check_send(to, text, from_number, media_url, status_callback, send_style)
        handles: list[str] = []
        raw: dict[str, Any] = {}
        with self._lock:
            for n, part in enumerate(parts):
                self._count += 1
                media = media_url if n == 0 else None
                seed = "\x1f".join([to, from_number, part, media or "", str(self._count)])
                digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
                handle = f"offline-{self._count:06d}-{digest}"
                handles.append(handle)
                self.records.append(
                    OfflineRecord(
                        "message", to, from_number, part, media, status_callback, send_style, handle
                    )
                )
                raw = {
                    "offline": True,
                    "message_handle": handle,
                    "status": OFFLINE_STATUS,
                    "number": to,
                    "from_number": from_number,
                    "content": part,
                    "media_url": media,
                    "is_outbound": True,
                    "error_code": None,
                }
        log.info(
            "offline messenger: recorded %d message(s) to %s, not sent", len(parts), mask_number(to)
        )
        return SentMessage(handles[-1], OFFLINE_STATUS, raw, tuple(handles))

    def status(self, handle: str) -> str:
        """OFFLINE_STATUS for a handle this messenger issued.

        An unknown handle raises SendblueError (code 10002, like Sendblue's "failed to resolve").
        """
        with self._lock:
            known = any(r.handle == handle for r in self.records)
        if not known:
            raise SendblueError(10002, f"unknown offline message handle {handle!r}", 404, False)
        return OFFLINE_STATUS

    def typing(self, to: str, from_number: str) -> None:
        """Record the typing indicator (invalid numbers are ignored, like a failed call)."""
        if is_e164(to) and is_e164(from_number):
            with self._lock:
                self.records.append(OfflineRecord("typing", to, from_number))


def messenger_for(
    api_key_id: str | None = None,
    api_secret: str | None = None,
    base_url: str | None = None,
    **options: Any,
) -> Messenger:
    """The messenger for a channel/deployment configuration.

    No credentials at all, or `base_url == "offline"` → OfflineMessenger. Both credentials →
    SendblueClient (`options` as its keyword arguments). Only one → ValueError.
    """
    if base_url == "offline" or (not api_key_id and not api_secret):
        return OfflineMessenger()
    if not api_key_id or not api_secret:
        raise ValueError("Sendblue needs both an API key id and an API secret key")
    return SendblueClient(api_key_id, api_secret, base_url or DEFAULT_BASE_URL, **options)


# --- inbound webhooks ------------------------------------------------------------------------


class InvalidWebhook(ValueError):  # noqa: N818 - reads better at call sites than ...Error
    """A webhook body that is not a usable Sendblue payload (answer 400)."""


@dataclass(frozen=True)
class InboundMessage:
    """A Sendblue webhook payload, normalised.

    `from_number` is always the end user and `to_number` always our line, whichever way the
    message went. `ignore_reason` is set for payloads that are not a user's new message
    (outbound echoes, status callbacks, empty messages); act only when it is None.
    """

    from_number: str
    to_number: str
    content: str
    media_url: str | None
    message_handle: str
    is_outbound: bool
    status: str
    service: str | None = None
    group_id: str | None = None
    date_sent: str | None = None
    ignore_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def actionable(self) -> bool:
        """True for a new message from the end user."""
        return self.ignore_reason is None


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def parse_inbound(payload: object) -> InboundMessage:
    """Normalise a webhook body; raises InvalidWebhook when a received message lacks fields.

    Only `is_outbound` false with status "RECEIVED" (any case) and some content or media is
    actionable; everything else comes back with `ignore_reason` set.
    """
    if not isinstance(payload, dict):
        raise InvalidWebhook("webhook body must be a JSON object")
    is_outbound = _truthy(payload.get("is_outbound"))
    status = _text(payload.get("status")).upper()
    user = _text(payload.get("number"))
    if is_outbound:
        line = _text(payload.get("sendblue_number")) or _text(payload.get("from_number"))
        user = user or _text(payload.get("to_number"))
    else:
        line = _text(payload.get("sendblue_number")) or _text(payload.get("to_number"))
        user = _text(payload.get("from_number")) or user
    content = payload.get("content")
    content = content if isinstance(content, str) else ""
    media_url = _text(payload.get("media_url")) or None
    group_id = _text(payload.get("group_id")) or None
    service = _text(payload.get("service")) or None
    handle = _text(payload.get("message_handle"))

    if is_outbound:
        reason = f"outbound message (status callback or echo of our own send, status {status})"
    elif status != "RECEIVED":
        reason = f"not a received message (status {status or 'missing'})"
    elif not content.strip() and not media_url:
        reason = "received message without content or media"
    else:
        reason = None
    if reason is None:
        missing = [n for n, v in (("from_number", user), ("message_handle", handle)) if not v]
        if not line:
            missing.append("to_number/sendblue_number")
        if missing:
            raise InvalidWebhook(f"received message without {', '.join(missing)}")
    date_sent = payload.get("date_sent")
    return InboundMessage(
        from_number=user,
        to_number=line,
        content=content,
        media_url=media_url,
        message_handle=handle,
        is_outbound=is_outbound,
        status=status,
        service=service,
        group_id=group_id,
        date_sent=date_sent if isinstance(date_sent, str) else None,
        ignore_reason=reason,
        raw=payload,
    )


def verify_signing_secret(
    expected: str | None, header_value: str | None, *, allow_unsigned: bool = False
) -> bool:
    """Does the `sb-signing-secret` header match the channel's secret (constant time)?

    Without a configured secret (`expected` None/empty) the answer is `allow_unsigned`:
    refused unless the caller explicitly accepts unsigned webhooks for that channel.
    A missing or empty header never matches a configured secret.
    """
    if not expected:
        return allow_unsigned
    if not header_value:
        return False
    return hmac.compare_digest(expected.encode(), header_value.strip().encode())


class Deduper(Protocol):
    """Sendblue may deliver a webhook more than once: dedupe on `InboundMessage.message_handle`.

    The product does this in its database (a unique constraint on channel + handle); this
    protocol only names the operation. `MemoryDeduper` is a bounded in-memory version.
    """

    def first_time(self, handle: str) -> bool:
        """Record `handle`; True the first time it is seen, False for a repeat."""
        ...


class MemoryDeduper:
    """Remembers the last `capacity` handles (for tests and single-process offline runs)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: dict[str, None] = {}
        self._lock = threading.Lock()

    def first_time(self, handle: str) -> bool:
        """True the first time `handle` is seen."""
        with self._lock:
            if handle in self._seen:
                return False
            self._seen[handle] = None
            while len(self._seen) > self.capacity:
                self._seen.pop(next(iter(self._seen)))
            return True
