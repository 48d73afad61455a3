"""The body guard's per-path rules, on a bare ASGI app: buffered by default, passed through
as a stream on `streamed` paths, refused by Content-Length either way."""

from __future__ import annotations

import asyncio
import secrets

from agentyard.core.http_guard import BodyGuard, BodyLimit, limit_for, register_limit


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
