"""A local HTTP receiver for http actions: records every request, answers JSON, can sleep
(and counts how many requests it holds at once), and can fail the first N calls."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeHTTP:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sleep = 0.0
        self.fail_first = 0
        self.fail_status = 503
        self.now = 0
        self.max = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body.decode(),
                        }
                    )
                    number = len(fake.requests)
                    fake.now += 1
                    fake.max = max(fake.max, fake.now)
                try:
                    if fake.sleep:
                        threading.Event().wait(fake.sleep)
                    if number <= fake.fail_first:
                        status, reply = fake.fail_status, {"error": "try later"}
                    else:
                        status, reply = 200, {"ok": True, "path": self.path, "n": number}
                    data = json.dumps(reply).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with fake._lock:
                        fake.now -= 1

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHTTP:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
