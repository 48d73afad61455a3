"""A tiny local SMTP server for tests: EHLO (AUTH PLAIN offered), AUTH, MAIL/RCPT, DATA, QUIT.

It keeps what clients did: `verbs` (each command's verb), `auth` (the last AUTH PLAIN
credentials), `envelope` (MAIL/RCPT lines), `messages` (each DATA body; `data` is the last).
With `accept=(user, password)` it refuses any other credentials (535)."""

from __future__ import annotations

import base64
import contextlib
import socketserver
import threading
from collections.abc import Iterator


class FakeSmtp(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, accept: tuple[bytes, bytes] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.accept = accept
        self.verbs: list[str] = []
        self.auth: list[bytes] | None = None
        self.envelope: list[str] = []
        self.messages: list[str] = []

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def data(self) -> str:
        """The last message's text ("" before any)."""
        return self.messages[-1] if self.messages else ""


class _Session(socketserver.StreamRequestHandler):
    server: FakeSmtp

    def handle(self) -> None:
        server = self.server
        self.wfile.write(b"220 fake ESMTP\r\n")
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            server.verbs.append(verb)
            if verb == "EHLO":
                self.wfile.write(b"250-fake\r\n250 AUTH PLAIN\r\n")
            elif verb == "AUTH":
                server.auth = base64.b64decode(line.split()[2]).split(b"\0")[1:]
                good = server.accept is None or server.auth == list(server.accept)
                self.wfile.write(b"235 ok\r\n" if good else b"535 bad credentials\r\n")
            elif verb in ("MAIL", "RCPT"):
                server.envelope.append(line)
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                server.messages.append(b"".join(data).decode())
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@contextlib.contextmanager
def serving(accept: tuple[bytes, bytes] | None = None) -> Iterator[FakeSmtp]:
    """A running FakeSmtp on 127.0.0.1 (a free port), shut down afterwards."""
    server = FakeSmtp(accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
