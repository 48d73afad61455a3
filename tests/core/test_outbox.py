"""core.outbox: the SMTP provider against a tiny local SMTP server (AUTH PLAIN, one message),
and an unreachable server reported as OutboxError."""

from __future__ import annotations

import base64
import socket
import socketserver
import threading

import pytest

from agentyard.core import outbox
from tests.kit.server import free_port


class _Smtp(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server = self.server
        self.wfile.write(b"220 fake ESMTP\r\n")
        while True:
            line = self.rfile.readline().decode().rstrip("\r\n")
            if not line:
                return
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-fake\r\n250 AUTH PLAIN\r\n")
            elif verb == "AUTH":
                server.auth = base64.b64decode(line.split()[2]).split(b"\0")[1:]  # type: ignore[attr-defined]
                self.wfile.write(b"235 ok\r\n")
            elif verb in ("MAIL", "RCPT"):
                server.envelope.append(line)  # type: ignore[attr-defined]
                self.wfile.write(b"250 ok\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                server.data = b"".join(data).decode()  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.auth, server.envelope, server.data = None, [], ""  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_provider_sends_with_auth(smtp):
    port = smtp.server_address[1]
    provider = outbox.SmtpProvider(f"smtp://ann%40x.org:s3cret@127.0.0.1:{port}", "app@x.org")
    provider.send(outbox.Message("bob@example.com", "Your code: 12345678", "Code 12345678\n"))
    assert smtp.auth == [b"ann@x.org", b"s3cret"]
    assert [e.lower() for e in smtp.envelope] == [
        "mail from:<app@x.org>",
        "rcpt to:<bob@example.com>",
    ]
    assert "Subject: Your code: 12345678" in smtp.data and "Code 12345678" in smtp.data


def test_unreachable_smtp_is_an_outbox_error():
    port = free_port()
    with socket.socket():
        pass
    provider = outbox.SmtpProvider(f"smtp://127.0.0.1:{port}", "app@x.org")
    with pytest.raises(outbox.OutboxError):
        provider.send(outbox.Message("bob@example.com", "s", "t"))
    with pytest.raises(outbox.OutboxError):
        outbox.SmtpProvider("http://nope", "a@b.c").send(outbox.Message("b@c.d", "s", "t"))
