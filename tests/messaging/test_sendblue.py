"""SendblueClient against the fake Sendblue, the offline messenger, and webhook helpers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from agentyard.messaging import (
    MAX_CONTENT_CHARS,
    OFFLINE_STATUS,
    SIGNING_SECRET_HEADER,
    InvalidWebhook,
    MemoryDeduper,
    Messenger,
    OfflineMessenger,
    SendblueClient,
    SendblueError,
    SendblueValidationError,
    is_e164,
    messenger_for,
    parse_inbound,
    split_text,
    verify_signing_secret,
)
from agentyard.messaging.sendblue import content_length
from tests.messaging.fake_sendblue import FakeSendblue, deliver_payload, inbound_payload

USER = "+15551230001"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSendblue]:
    with FakeSendblue() as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(fake: FakeSendblue) -> None:
    fake.requests.clear()
    fake.messages.clear()
    fake.typing.clear()
    fake._script.failures.clear()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake: FakeSendblue, sleeps: list[float]) -> Iterator[SendblueClient]:
    with SendblueClient(
        fake.api_key_id, fake.api_secret, base_url=fake.url, timeout=5, sleep=sleeps.append
    ) as c:
        yield c


# --- sending -------------------------------------------------------------------------------


def test_happy_path_headers_and_body(client: SendblueClient, fake: FakeSendblue) -> None:
    sent = client.send(USER, "Hello there", from_number=fake.line)

    assert sent.status == "QUEUED"
    assert uuid.UUID(sent.handle)
    assert sent.handles == (sent.handle,)
    assert not sent.offline
    assert sent.raw["message_handle"] == sent.handle
    (req,) = fake.requests
    assert (req.method, req.path) == ("POST", "/api/send-message")
    assert req.headers["sb-api-key-id"] == fake.api_key_id
    assert req.headers["sb-api-secret-key"] == fake.api_secret
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"number": USER, "from_number": fake.line, "content": "Hello there"}


def test_optional_fields_are_sent(client: SendblueClient, fake: FakeSendblue) -> None:
    client.send(
        USER,
        "look",
        from_number=fake.line,
        media_url="https://cdn.example.com/a.png",
        status_callback="https://app.example.com/cb",
        send_style="confetti",
    )
    assert fake.requests[0].json == {
        "number": USER,
        "from_number": fake.line,
        "content": "look",
        "media_url": "https://cdn.example.com/a.png",
        "send_style": "confetti",
        "status_callback": "https://app.example.com/cb",
    }


def test_media_only(client: SendblueClient, fake: FakeSendblue) -> None:
    client.send(USER, "", from_number=fake.line, media_url="https://cdn.example.com/a.png")
    assert "content" not in fake.requests[0].json


def test_wrong_credentials_not_retried(fake: FakeSendblue, sleeps: list[float]) -> None:
    with (
        SendblueClient("nope", "nope", base_url=fake.url, sleep=sleeps.append) as bad,
        pytest.raises(SendblueError) as info,
    ):
        bad.send(USER, "hi", from_number=fake.line)
    assert info.value.http_status == 401
    assert not info.value.retryable
    assert "credentials" in info.value.message
    assert len(fake.requests) == 1 and sleeps == []


@pytest.mark.parametrize(
    "number",
    [
        "5551230001",
        "+05551230001",
        "+1",
        "+1 555 123 0001",
        "+1-555-123-0001",
        "+1234567890123456",
        "+15551230001\n",
        "+\u0661\u0662\u0663\u0664",  # Arabic-Indic digits match \d, not E.164
        "",
        None,
    ],
)
def test_bad_numbers_refused_locally(
    client: SendblueClient, fake: FakeSendblue, number: object
) -> None:
    with pytest.raises(SendblueValidationError) as info:
        client.send(number, "hi", from_number=fake.line)  # type: ignore[arg-type]
    assert info.value.code == 4000 and info.value.http_status is None
    with pytest.raises(SendblueValidationError):
        client.send(USER, "hi", from_number=number)  # type: ignore[arg-type]
    assert fake.requests == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": ""},
        {"text": "   \n"},
        {"text": "hi", "media_url": "ftp://x/y.png"},
        {"text": "hi", "media_url": "/relative.png"},
        {"text": "hi", "status_callback": "not a url"},
        {"text": "hi", "send_style": "explode"},
    ],
)
def test_bad_messages_refused_locally(
    client: SendblueClient, fake: FakeSendblue, kwargs: dict
) -> None:
    with pytest.raises(SendblueValidationError):
        client.send(USER, from_number=fake.line, **kwargs)
    assert fake.requests == []


def test_e164() -> None:
    assert is_e164("+15551230001") and is_e164("+44") and is_e164("+123456789012345")
    assert not is_e164("+1234567890123456") and not is_e164(15551230001)


def test_fake_validates_like_the_api(fake: FakeSendblue) -> None:
    headers = {"sb-api-key-id": fake.api_key_id, "sb-api-secret-key": fake.api_secret}
    url = f"{fake.url}/api/send-message"
    resp = httpx.post(url, json={"number": USER, "content": "x"}, headers=headers, trust_env=False)
    assert resp.status_code == 400 and resp.json()["error_code"] == 4000
    resp = httpx.post(
        url, json={"number": USER, "from_number": fake.line}, headers=headers, trust_env=False
    )
    assert resp.status_code == 400 and "media_url" in resp.json()["error_message"]
    body = {"number": USER, "from_number": fake.line, "content": "x" * 18_996}
    assert httpx.post(url, json=body, headers=headers, trust_env=False).status_code == 400
    resp = httpx.post(
        url, json={"number": USER, "from_number": fake.line, "content": "x"}, trust_env=False
    )
    assert resp.status_code == 401


# --- long text -----------------------------------------------------------------------------


def test_long_text_is_split_and_sent_in_order(client: SendblueClient, fake: FakeSendblue) -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 1500 for n in range(10)]
    text = "\n\n".join(p.strip() for p in paragraphs)  # ~75,000 characters
    sent = client.send(USER, text, from_number=fake.line, media_url="https://cdn.example.com/a.png")

    bodies = [r.json for r in fake.requests]
    assert len(bodies) == len(sent.handles) == 5
    assert sent.handle == sent.handles[-1]
    assert all(len(b["content"]) <= MAX_CONTENT_CHARS for b in bodies)
    assert all(b["content"].startswith("Paragraph") for b in bodies)  # cut at paragraphs
    assert "\n\n".join(b["content"] for b in bodies) == text
    assert bodies[0]["media_url"] == "https://cdn.example.com/a.png"
    assert all("media_url" not in b for b in bodies[1:])


def test_failure_mid_split_reports_parts_sent() -> None:
    failed = httpx.Response(200, json={"status": "ERROR", "error_code": 10001})
    seen: list[httpx.Request] = []
    with (
        SendblueClient("k", "s", transport=_transport([_ok(), failed], seen)) as c,
        pytest.raises(SendblueError) as info,
    ):
        c.send(USER, "a " * MAX_CONTENT_CHARS, from_number="+15550001111")  # two parts
    assert info.value.code == 10001 and len(seen) == 2
    assert [s.handle for s in info.value.sent] == ["h-1"]


def test_split_text_boundaries() -> None:
    assert split_text("x" * 10, limit=10) == ["x" * 10]
    assert split_text("x" * 11, limit=10) == ["x" * 10, "x"]  # no whitespace: hard cut
    assert split_text("aaaa bbbb cccc", limit=10) == ["aaaa bbbb", "cccc"]
    assert split_text("aaa\nbbb ccc dd", limit=10) == ["aaa\nbbb", "ccc dd"]
    assert split_text("a\n\nbbbb\ncc dd", limit=10) == ["a\n\nbbbb", "cc dd"]
    # a break too early in the window is not used (would leave a tiny part)
    assert split_text("a bbbbbbbbbbbbbbbbbbb", limit=10) == ["a bbbbbbbb", "b" * 10, "b"]
    assert split_text("x" * MAX_CONTENT_CHARS) == ["x" * MAX_CONTENT_CHARS]


def test_split_text_counts_utf16_and_never_breaks_a_character() -> None:
    text = "\U0001f600" * 6  # 12 UTF-16 units
    parts = split_text(text, limit=5)
    assert parts == ["\U0001f600" * 2] * 3
    assert all(content_length(p) <= 5 for p in parts)
    assert content_length("a\U0001f600") == 3


# --- retries -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("http_status", "error_code"),
    [(429, None), (500, None), (502, None), (503, None), (200, 4001), (200, 5003), (500, 5000)],
)
def test_retries_then_succeeds(
    client: SendblueClient,
    fake: FakeSendblue,
    sleeps: list[float],
    http_status: int,
    error_code: int | None,
) -> None:
    fake.fail_next(2, http_status=http_status, error_code=error_code)
    sent = client.send(USER, "hi", from_number=fake.line)
    assert sent.status == "QUEUED"
    assert len(fake.requests) == 3
    assert sleeps == [0.5, 1.0]
    assert len(fake.sent) == 1


def test_gives_up_after_max_retries(
    client: SendblueClient, fake: FakeSendblue, sleeps: list[float]
) -> None:
    fake.fail_next(5, http_status=429)
    with pytest.raises(SendblueError) as info:
        client.send(USER, "hi", from_number=fake.line)
    err = info.value
    assert (err.code, err.http_status, err.retryable) == (4001, 429, True)
    assert len(fake.requests) == 3 and len(sleeps) == 2


def test_retry_after_is_honoured(
    client: SendblueClient, fake: FakeSendblue, sleeps: list[float]
) -> None:
    fake.fail_next(1, http_status=429, retry_after=0.25)
    client.send(USER, "hi", from_number=fake.line)
    assert sleeps == [0.25]
    fake.fail_next(1, http_status=429, retry_after=3600)  # too long to hold a job for
    with pytest.raises(SendblueError) as info:
        client.send(USER, "hi", from_number=fake.line)
    assert info.value.retryable and sleeps == [0.25]


@pytest.mark.parametrize(
    ("http_status", "error_code"),
    [(200, 10001), (200, 4000), (200, 4002), (200, 10002), (400, None), (500, 10001)],
)
def test_no_retry_on_final_errors(
    client: SendblueClient,
    fake: FakeSendblue,
    sleeps: list[float],
    http_status: int,
    error_code: int | None,
) -> None:
    fake.fail_next(1, http_status=http_status, error_code=error_code)
    with pytest.raises(SendblueError) as info:
        client.send(USER, "hi", from_number=fake.line)
    err = info.value
    assert err.code == (error_code or 4000)
    assert err.http_status == http_status
    assert not err.retryable
    assert len(fake.requests) == 1 and sleeps == []


def test_error_code_in_200_body_is_a_failure(client: SendblueClient, fake: FakeSendblue) -> None:
    fake.fail_next(1, http_status=200, error_code=10001, error_message="carrier said no")
    with pytest.raises(SendblueError) as info:
        client.send(USER, "hi", from_number=fake.line)
    assert info.value.message == "carrier said no"
    assert "code 10001" in str(info.value) and "HTTP 200" in str(info.value)


def _transport(answers: list[object], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    return httpx.MockTransport(handle)


def _ok(**fields: object) -> httpx.Response:
    body = {"status": "QUEUED", "message_handle": "h-1", "error_code": None, **fields}
    return httpx.Response(200, json=body)


def test_connect_errors_are_retried(sleeps: list[float]) -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), _ok()]
    with SendblueClient("k", "s", transport=_transport(answers, seen), sleep=sleeps.append) as c:
        assert c.send(USER, "hi", from_number="+15550001111").handle == "h-1"
    assert len(seen) == 3 and sleeps == [0.5, 1.0]
    assert str(seen[0].url) == "https://api.sendblue.co/api/send-message"


def test_read_timeout_on_send_is_not_retried(sleeps: list[float]) -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.ReadTimeout("no answer"), _ok()]
    with (
        SendblueClient("k", "s", transport=_transport(answers, seen), sleep=sleeps.append) as c,
        pytest.raises(SendblueError) as info,
    ):
        c.send(USER, "hi", from_number="+15550001111")
    assert "may or may not have been sent" in info.value.message
    assert not info.value.retryable and len(seen) == 1


@pytest.mark.parametrize(
    "response",
    [
        _ok(status="ERROR", error_message="bad"),
        _ok(message_handle=None),
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json={"status": "QUEUED", "error_code": "x"}),
    ],
)
def test_odd_success_answers_are_failures(response: httpx.Response) -> None:
    with (
        SendblueClient("k", "s", transport=_transport([response], [])) as c,
        pytest.raises(SendblueError) as info,
    ):
        c.send(USER, "hi", from_number="+15550001111")
    assert not info.value.retryable


def test_unknown_status_and_zero_error_code_tolerated() -> None:
    answers = [_ok(status="SOMETHING_NEW", error_code=0)]
    with SendblueClient("k", "s", transport=_transport(answers, [])) as c:
        assert c.send(USER, "hi", from_number="+15550001111").status == "SOMETHING_NEW"


def test_base_url_with_prefix_and_secret_not_in_repr() -> None:
    seen: list[httpx.Request] = []
    transport = _transport([_ok()], seen)
    with SendblueClient("k", "s3cret", "https://proxy.example/sb/", transport=transport) as c:
        c.send(USER, "hi", from_number="+15550001111")
        assert "s3cret" not in repr(c)
    assert str(seen[0].url) == "https://proxy.example/sb/api/send-message"
    with pytest.raises(ValueError):
        SendblueClient("k", "s", "ftp://nope")
    with pytest.raises(ValueError):
        SendblueClient("k", "")


# --- status and typing ---------------------------------------------------------------------


def test_status_polling(client: SendblueClient, fake: FakeSendblue) -> None:
    sent = client.send(USER, "hi", from_number=fake.line)
    assert client.status(sent.handle) == "QUEUED"
    fake.set_status(sent.handle, "DELIVERED")
    assert client.status(sent.handle) == "DELIVERED"
    fake.set_status(sent.handle, "SOMETHING_NEW")
    assert client.status(sent.handle) == "SOMETHING_NEW"
    req = fake.calls("/api/status")[-1]
    assert req.method == "GET" and req.args == {"handle": sent.handle}
    assert req.headers["sb-api-secret-key"] == fake.api_secret


def test_status_retries_and_unknown_handle(
    client: SendblueClient, fake: FakeSendblue, sleeps: list[float]
) -> None:
    sent = client.send(USER, "hi", from_number=fake.line)
    fake.fail_next(1, http_status=503, path="/api/status")
    assert client.status(sent.handle) == "QUEUED" and sleeps == [0.5]
    with pytest.raises(SendblueError) as info:
        client.status("no-such-handle")
    assert info.value.code == 10002 and not info.value.retryable
    with pytest.raises(SendblueValidationError):
        client.status("")


def test_typing_indicator(client: SendblueClient, fake: FakeSendblue) -> None:
    assert client.typing(USER, fake.line) is None
    assert fake.typing == [{"number": USER, "from_number": fake.line}]


def test_typing_is_best_effort(
    client: SendblueClient, fake: FakeSendblue, sleeps: list[float]
) -> None:
    fake.fail_next(3, http_status=500)
    client.typing(USER, fake.line)  # no exception, no retries
    assert len(fake.requests) == 1 and sleeps == []
    client.typing("not a number", fake.line)  # refused locally, swallowed
    assert len(fake.requests) == 1
    with SendblueClient("k", "s", transport=_transport([httpx.ConnectError("x")], [])) as c:
        c.typing(USER, "+15550001111")


# --- offline -------------------------------------------------------------------------------


def test_offline_messenger_is_deterministic_and_labelled() -> None:
    def run() -> tuple[list[str], OfflineMessenger]:
        m = OfflineMessenger()
        a = m.send(USER, "hello", from_number="+15550001111")
        b = m.send(USER, "hello", from_number="+15550001111")
        return [a.handle, b.handle], m

    (h1, h2), m = run()
    assert run()[0] == [h1, h2]
    assert h1 != h2 and h1.startswith("offline-000001-")
    assert m.status(h1) == OFFLINE_STATUS == "OFFLINE"
    sent = m.send(USER, "x", from_number="+15550001111")
    assert sent.offline and sent.raw["offline"] is True
    assert [r.content for r in m.sent] == ["hello", "hello", "x"]
    with pytest.raises(SendblueError):
        m.status("offline-999999-0")


def test_offline_messenger_validates_and_splits_like_sendblue() -> None:
    m = OfflineMessenger()
    with pytest.raises(SendblueValidationError):
        m.send("5551230001", "hi", from_number="+15550001111")
    sent = m.send(USER, "word " * 8000, from_number="+15550001111")
    assert len(sent.handles) == 3 and len(m.sent) == 3
    m.typing(USER, "+15550001111")
    m.typing("bad", "+15550001111")
    assert [r.kind for r in m.records].count("typing") == 1


def test_messenger_for() -> None:
    offline = messenger_for()
    assert isinstance(offline, OfflineMessenger) and isinstance(offline, Messenger)
    assert isinstance(messenger_for("k", "s", "offline"), OfflineMessenger)
    real = messenger_for("k", "s", timeout=3)
    assert isinstance(real, SendblueClient) and isinstance(real, Messenger)
    real.close()
    with pytest.raises(ValueError):
        messenger_for("k", None)


# --- inbound webhooks ----------------------------------------------------------------------


def test_parse_received_message() -> None:
    payload = inbound_payload(USER, "+15550001111", "Hi there", message_handle="mh-1")
    msg = parse_inbound(payload)
    assert msg.actionable and msg.ignore_reason is None
    assert (msg.from_number, msg.to_number) == (USER, "+15550001111")
    assert (msg.content, msg.message_handle, msg.status) == ("Hi there", "mh-1", "RECEIVED")
    assert msg.service == "iMessage" and msg.media_url is None and msg.group_id is None
    assert not msg.is_outbound and msg.raw is payload


def test_parse_media_only_and_fallback_fields() -> None:
    payload = inbound_payload(USER, "+15550001111", "", media_url="https://m.example/a.jpg")
    del payload["sendblue_number"], payload["from_number"]
    msg = parse_inbound(payload)
    assert msg.actionable and msg.media_url == "https://m.example/a.jpg"
    assert (msg.from_number, msg.to_number) == (USER, "+15550001111")


def test_outbound_echo_and_status_callbacks_are_ignored(
    client: SendblueClient, fake: FakeSendblue
) -> None:
    sent = client.send(USER, "hi", from_number=fake.line)
    echo = parse_inbound(fake.sent[0])
    assert not echo.actionable and "outbound" in echo.ignore_reason
    assert (echo.from_number, echo.to_number) == (USER, fake.line)  # still user / our line
    assert echo.message_handle == sent.handle and echo.status == "QUEUED"
    fake.set_status(sent.handle, "DELIVERED")
    callback = parse_inbound(fake.sent[0])
    assert not callback.actionable and callback.status == "DELIVERED"
    odd = parse_inbound(inbound_payload(USER, fake.line, "x", status="DELIVERED"))
    assert odd.ignore_reason == "not a received message (status DELIVERED)"
    empty = parse_inbound(inbound_payload(USER, fake.line, "  "))
    assert not empty.actionable
    stringly = parse_inbound(inbound_payload(USER, fake.line, "x", is_outbound="true"))
    assert stringly.is_outbound and not stringly.actionable


@pytest.mark.parametrize(
    "payload",
    [
        ["not", "a", "dict"],
        "x",
        {**inbound_payload(USER, "+15550001111", "hi"), "message_handle": ""},
        inbound_payload("", "+15550001111", "hi", number=""),
        inbound_payload(USER, "", "hi"),
    ],
)
def test_malformed_received_messages(payload: object) -> None:
    with pytest.raises(InvalidWebhook):
        parse_inbound(payload)


def test_signing_secret() -> None:
    assert verify_signing_secret("whsec-1", "whsec-1")
    assert verify_signing_secret("whsec-1", " whsec-1 ")
    assert not verify_signing_secret("whsec-1", "whsec-2")
    assert not verify_signing_secret("whsec-1", None)
    assert not verify_signing_secret("whsec-1", "")
    assert not verify_signing_secret("whsec-1", "wh\u00e9sec")  # non-ASCII: no TypeError
    # no secret configured for the channel: refused unless explicitly allowed
    assert not verify_signing_secret(None, "anything")
    assert not verify_signing_secret("", None)
    assert verify_signing_secret(None, None, allow_unsigned=True)
    assert SIGNING_SECRET_HEADER == "sb-signing-secret"


def test_deduper() -> None:
    d = MemoryDeduper(capacity=2)
    assert d.first_time("a") and not d.first_time("a")
    assert d.first_time("b") and d.first_time("c")
    assert d.first_time("a")  # evicted


@pytest.fixture
def receiver() -> Iterator[tuple[str, list]]:
    """A minimal product-side webhook endpoint, as the product is expected to write it."""
    got: list = []
    dedupe = MemoryDeduper()
    app = Flask("receiver")

    @app.post("/hooks/sendblue")
    def hook() -> object:
        if not verify_signing_secret("whsec-1", request.headers.get(SIGNING_SECRET_HEADER)):
            return jsonify(error="bad signature"), 401
        msg = parse_inbound(request.get_json())
        if msg.actionable and dedupe.first_time(msg.message_handle):
            got.append(msg)
        return jsonify(ok=True, ignored=msg.ignore_reason)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/sendblue", got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_deliver_inbound_end_to_end(
    fake: FakeSendblue, client: SendblueClient, receiver: tuple[str, list]
) -> None:
    url, got = receiver
    resp = fake.deliver_inbound(url, "whsec-1", USER, "hello?", message_handle="mh-9")
    assert resp.status_code == 200
    assert fake.deliver_inbound(url, "whsec-1", USER, "hello?", message_handle="mh-9").is_success
    assert [(m.from_number, m.to_number, m.content) for m in got] == [(USER, fake.line, "hello?")]
    assert fake.deliver_inbound(url, "wrong", USER, "x").status_code == 401
    assert fake.deliver_inbound(url, None, USER, "x").status_code == 401
    # a status callback reaches the same endpoint and is acknowledged but ignored
    sent = client.send(USER, "hi", from_number=fake.line, status_callback=url)
    cb = fake.set_status(sent.handle, "DELIVERED", secret="whsec-1")
    assert cb.status_code == 200 and "outbound" in cb.json()["ignored"]
    assert deliver_payload(url, "whsec-1", fake.sent[-1]).json()["ignored"]
    assert len(got) == 1
