"""The SSE stream: live delivery, heartbeats, resumption, 426, and no starvation."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import httpx

from agentyard.aisp.sessions import inbox_channel
from agentyard.core import runtime
from agentyard.core.pubsub import RedisBroker
from tests.aisp_hub.conftest import SseReader

SSE = {"Accept": "text/event-stream"}


def open_stream(realm, session, **headers):
    client = httpx.Client(base_url=str(realm.http.base_url), timeout=10)
    cm = client.stream(
        "GET", "/api/v1/messages/stream", headers={**session.headers, **SSE, **headers}
    )
    response = cm.__enter__()
    return client, cm, response


def wait_until_no_stream(session_id: str, timeout: float = 5.0) -> None:
    """Poll until the server (in this process) has let go of every stream of `session_id`: a
    client that closed its stream is noticed a moment later, and until then a message to it
    counts as delivered."""
    broker, channel = runtime.current().broker, inbox_channel(session_id)
    deadline = time.monotonic() + timeout
    while True:
        if isinstance(broker, RedisBroker):  # one local fan-out per event loop
            fanouts = [listener.fanout for listener in list(broker._listeners.values())]
        else:
            fanouts = [broker.fanout]
        if not any(channel in fanout.channels() for fanout in fanouts):
            return
        assert time.monotonic() < deadline, f"a stream of {session_id} is still open"
        time.sleep(0.01)


def test_an_accept_that_excludes_event_stream_is_426(realm):
    s = realm.session()
    for accept in ("application/json", "text/html, application/*", "text/event-stream;q=0"):
        headers = {**s.headers, "Accept": accept}
        with realm.http.stream("GET", "/api/v1/messages/stream", headers=headers) as r:
            assert r.status_code == 426, accept
            r.read()
            assert r.json()["error"]["code"] == "upgrade_required"


def test_an_accept_that_admits_event_stream_gets_the_stream(realm):
    """Issue 10 (the CLI's `Accept: */*` got 426): `*/*`, `text/*` and no Accept at all admit
    text/event-stream (RFC 9110 content negotiation), so they get the stream."""
    s = realm.session()
    for accept in ("*/*", "text/*", "application/json;q=0.9, */*;q=0.1", None):
        headers = dict(s.headers)
        if accept is not None:
            headers["Accept"] = accept
        with httpx.Client(base_url=str(realm.http.base_url), timeout=10) as client:
            if accept is None:
                client.headers.pop("accept", None)
            with client.stream("GET", "/api/v1/messages/stream", headers=headers) as response:
                assert response.status_code == 200, accept
                assert response.headers["content-type"].startswith("text/event-stream")
                SseReader(response).wait_open()


def test_stream_delivers_live_with_ids_and_heartbeats(realm):
    a, b = realm.session(), realm.session()
    client, cm, response = open_stream(realm, b)
    try:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines) == ": stream open"
        r = realm.send(a, b, payload={"hello": 1})
        assert r.json()["delivered"] is True and r.json()["status"] == "delivered"
        reader = SseReader(response)
        reader.lines = lines
        event = reader.next_event()
        assert event["event"] == "message" and event["id"] == 1
        assert event["data"]["payload"] == {"hello": 1}
        assert event["data"]["id"] == r.json()["message_id"]
        # heartbeats keep flowing while idle (0.5 s in tests)
        following = [next(lines) for _ in range(2)]
        assert any(line.startswith(": heartbeat") for line in following), following
    finally:
        cm.__exit__(None, None, None)
        client.close()
    # a message delivered on the stream was marked read
    assert realm.http.get("/api/v1/messages", headers=b.headers).json()["unread_count"] == 0


def test_stream_sends_unread_backlog_then_resumes_after_last_event_id(realm):
    a, b = realm.session(), realm.session()
    for i in range(3):
        realm.send(a, b, payload={"i": i})
    client, cm, response = open_stream(realm, b)
    reader = SseReader(response)
    try:
        got = [reader.next_event() for _ in range(3)]
        assert [e["data"]["payload"]["i"] for e in got] == [0, 1, 2]
        assert [e["id"] for e in got] == [1, 2, 3]
    finally:
        cm.__exit__(None, None, None)
        client.close()
    # missed while disconnected
    wait_until_no_stream(b.id)
    for i in range(3, 6):
        assert realm.send(a, b, payload={"i": i}).json()["delivered"] is False
    for header in ("Last-Event-ID", "X-Last-Event-ID"):
        client, cm, response = open_stream(realm, b, **{header: "2"})
        reader = SseReader(response)
        try:
            got = [reader.next_event() for _ in range(4)]
            assert [e["id"] for e in got] == [3, 4, 5, 6], header
            assert [e["data"]["payload"]["i"] for e in got] == [2, 3, 4, 5]
        finally:
            cm.__exit__(None, None, None)
            client.close()


def test_bad_last_event_id_is_400(realm):
    s = realm.session()
    r = realm.http.get(
        "/api/v1/messages/stream", headers={**s.headers, **SSE, "Last-Event-ID": "abc"}
    )
    assert r.status_code == 400


def test_deregistering_closes_the_stream(realm):
    s = realm.session()
    client, cm, response = open_stream(realm, s)
    reader = SseReader(response)
    try:
        reader.wait_open()
        realm.http.delete(f"/api/v1/sessions/{s.id}", headers=s.headers)
        try:
            reader.next_event()
            raise AssertionError("stream should have closed")
        except EOFError:
            pass
    finally:
        cm.__exit__(None, None, None)
        client.close()


def test_many_open_streams_do_not_starve_other_requests(realm):
    """60 streams held open (more than the threadpool's 40 threads) while requests answer."""
    sender = realm.session()
    targets = [realm.session() for _ in range(60)]
    opened = []
    try:
        for t in targets:
            client, cm, response = open_stream(realm, t)
            reader = SseReader(response)
            reader.wait_open()
            opened.append((client, cm, reader))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(
                    lambda _: realm.http.get("/api/v1/sessions", headers=realm.headers).status_code,
                    range(40),
                )
            )
        assert codes == [200] * 40
        r = realm.send(sender, [t.id for t in targets], payload={"all": True})
        assert r.json()["delivered"] is True
        for _, _, reader in opened:
            assert reader.next_event()["data"]["payload"] == {"all": True}
    finally:
        for client, cm, _ in opened:
            cm.__exit__(None, None, None)
            client.close()


def test_two_streams_of_one_session_deliver_each_message_once(realm):
    a, b = realm.session(), realm.session()
    streams = [open_stream(realm, b) for _ in range(2)]
    readers = [SseReader(r) for _, _, r in streams]
    for reader in readers:
        reader.wait_open()
    received: list[int] = []
    lock = threading.Lock()

    def drain(reader):
        try:
            while True:
                e = reader.next_event()
                with lock:
                    received.append(e["data"]["payload"]["i"])
        except (EOFError, httpx.HTTPError):
            return

    threads = [threading.Thread(target=drain, args=(r,), daemon=True) for r in readers]
    for t in threads:
        t.start()
    for i in range(10):
        realm.send(a, b, payload={"i": i})
    import time

    deadline = time.time() + 5
    while len(received) < 10 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    for client, cm, _ in streams:
        cm.__exit__(None, None, None)
        client.close()
    assert sorted(received) == list(range(10))
