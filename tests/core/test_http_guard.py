"""The body guard on a bare ASGI app: its per-path rules (buffered by default, passed through
as a stream on `streamed` paths, refused by Content-Length either way), and what it refuses in
a JSON body (duplicate keys, non-finite numbers, depth, bad UTF-8) and what it leaves to the
schemas (U+0000 and integers beyond 64 bits: see tests/core/test_bad_input.py)."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from agentyard.core.http_guard import (
    BadJsonError,
    BodyGuard,
    BodyLimit,
    check_json,
    limit_for,
    register_limit,
)


def serve(guard: BodyGuard, path: str, chunks: list[bytes], length: int | None = None):
    """Send one POST through the guard; (status, the body messages the app received)."""
    seen: list[dict] = []
    sent: list[dict] = []

    async def inner(scope, receive, send):
        more = True
        while more:
            message = await receive()
            seen.append(message)
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    guard.app = inner
    incoming = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    headers = [(b"content-type", b"application/octet-stream")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": headers}
    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], seen


def test_streamed_paths_pass_the_body_through_in_its_chunks():
    prefix = f"/t{secrets.token_hex(3)}"
    register_limit(prefix + "/stream/[^/]+", BodyLimit(1000, streamed=True))
    register_limit(prefix + "/big/[^/]+", 1000)
    guard = BodyGuard(None, max_body_bytes=10)
    chunks = [b"a" * 100, b"b" * 100, b"c" * 100]

    status, seen = serve(guard, prefix + "/stream/x", chunks)
    assert status == 204
    assert [m["body"] for m in seen] == chunks  # as they came: nothing was buffered
    status, seen = serve(guard, prefix + "/big/x", chunks)
    assert status == 204
    assert [m["body"] for m in seen] == [b"".join(chunks)]  # buffered, then replayed whole

    # Over the maximum by Content-Length: refused before the app sees anything, either way.
    for path in (prefix + "/stream/x", prefix + "/big/x"):
        status, seen = serve(guard, path, [b"x"], length=1001)
        assert status == 413 and seen == []
    # A buffered path also counts what arrives; a streamed one leaves that to its handler.
    status, seen = serve(guard, prefix + "/big/x", [b"x" * 600, b"x" * 600])
    assert status == 413 and seen == []
    assert limit_for(prefix + "/stream/x", 10) == 1000
    assert limit_for(prefix + "/elsewhere", 10) == 10


def test_a_callable_limit_is_read_on_every_request():
    prefix = f"/t{secrets.token_hex(3)}"
    current = {"max": 50}
    register_limit(prefix + "/u", BodyLimit(lambda: current["max"]))
    guard = BodyGuard(None, max_body_bytes=10)
    assert serve(guard, prefix + "/u", [b"x" * 40])[0] == 204
    current["max"] = 30
    status, _ = serve(guard, prefix + "/u", [b"x" * 40])
    assert status == 413


# --- what the guard refuses in a JSON body, and what it leaves to the schemas ---------------


def send_json(body: bytes, path: str = "/x", query: bytes = b"") -> tuple[int, bytes, bool]:
    """POST `body` as JSON through a guard on a bare app: (status, response body, app ran)."""
    ran: list[bool] = []
    sent: list[dict] = []

    async def inner(scope, receive, send):
        ran.append(True)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    incoming = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(b"content-type", b"application/json")],
    }
    asyncio.run(BodyGuard(inner, max_body_bytes=1 << 20)(scope, receive, send))
    return sent[0]["status"], sent[1]["body"], bool(ran)


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a", "name": "b"}',
        b'{"a": {"x": 1, "y": 2, "x": 1}}',  # same value twice is still two keys
        b'[1, {"deep": [{"k": null, "k": null}]}]',
        b'{"\\u0041": 1, "A": 2}',  # the same key, escaped once
    ],
)
def test_duplicate_keys_are_refused_at_any_depth(body: bytes) -> None:
    status, text, ran = send_json(body)
    assert (status, ran) == (400, False)
    assert b"duplicate key" in text
    with pytest.raises(BadJsonError, match="duplicate key"):
        check_json(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}',  # a key may repeat in other objects
        b'{"text": "a\\u0000b", "k\\u0000": 1}',  # NUL: the schemas decide, not the guard
        b'{"n": 18446744073709551616, "m": -99999999999999999999999999}',  # beyond 64 bits
        b'{"n": -' + b"9" * 4300 + b"}",  # as many digits as Python converts
    ],
)
def test_what_the_guard_leaves_to_the_schemas(body: bytes) -> None:
    check_json(body)
    assert send_json(body)[0] == 204


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN}',
        b'{"a": 1e999}',
        b"[" * 65 + b"]" * 65,
        b'{"a": "\xff"}',
        b'{"a":',
        b'{"n": ' + b"9" * 4301 + b"}",
    ],
)
def test_non_finite_deep_invalid_bodies_are_still_refused(body: bytes) -> None:
    status, _, ran = send_json(body)
    assert (status, ran) == (400, False)


def test_nul_in_the_path_or_query_is_refused_before_routing() -> None:
    for path, query in (("/a\x00b", b""), ("/x", b"q=a%00b"), ("/x", b"q=a\x00b")):
        status, text, ran = send_json(b"{}", path, query)
        assert (status, ran) == (400, False)
        assert b"NUL" in text


def test_a_buffered_body_stays_readable_as_sent():
    from agentyard.core.http_guard import raw_body

    kept: list[bytes | None] = []
    guard = BodyGuard(None, 1000)  # type: ignore[arg-type]

    async def inner(scope, receive, send):
        await receive()
        kept.append(raw_body(scope))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        return incoming.pop(0)

    async def send(message):
        pass

    incoming = [
        {"type": "http.request", "body": b'{"a": ', "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
    ]
    guard.app = inner
    scope = {"type": "http", "method": "POST", "path": "/x", "root_path": "", "headers": []}
    asyncio.run(guard(scope, receive, send))
    assert kept == [b'{"a": 1}']
    assert raw_body({}) is None
