"""A WSGI app served on 127.0.0.1 (free port) in a background thread, for tests' local peers.

The fake upstreams (Anthropic, OpenAI, Sendblue, a TSA) and the webhook receivers all run
this way: threaded, quiet, and shut down when the test is done.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LocalServer:
    """Serve `app` until `close()` (or the end of a `with` block)."""

    def __init__(self, app: Any, ssl_context: ssl.SSLContext | None = None) -> None:
        self._server = make_server(
            "127.0.0.1",
            0,
            app,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=ssl_context,
        )
        self.port = self._server.server_port
        scheme = "https" if ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
