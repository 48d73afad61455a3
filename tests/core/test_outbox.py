"""core.outbox: the SMTP provider against a tiny local SMTP server (AUTH PLAIN, one message),
and an unreachable server reported as OutboxError."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentyard.core import outbox
from tests.kit import smtp as fake_smtp
from tests.kit.server import free_port


@pytest.fixture
def smtp():
    with fake_smtp.serving() as server:
        yield server


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
    port = free_port()  # nothing listens there
    provider = outbox.SmtpProvider(f"smtp://127.0.0.1:{port}", "app@x.org")
    with pytest.raises(outbox.OutboxError):
        provider.send(outbox.Message("bob@example.com", "s", "t"))
    with pytest.raises(outbox.OutboxError):
        outbox.SmtpProvider("http://nope", "a@b.c").send(outbox.Message("b@c.d", "s", "t"))


def test_the_dev_outbox_keeps_messages_and_the_cli_lists_them(tmp_path):
    env = {"AGENTYARD_DATA_DIR": str(tmp_path), "PATH": ""}
    send = (
        "from agentyard.config import Settings\n"
        "from agentyard.core import migrations, outbox, runtime\n"
        "from agentyard.core.store import connection\n"
        "runtime.configure(Settings.from_env())\n"
        "migrations.upgrade()\n"
        "with connection():\n"
        "    assert outbox.provider().name == 'dev'\n"
        "    outbox.send(outbox.Message('Ann@Example.com', 'Code 87654321', 'b1', 'hyphen:o'))\n"
        "    outbox.send(outbox.Message('bob@example.com', 'Hello', 'body 2', 'studio:x'))\n"
    )
    r = subprocess.run([sys.executable, "-c", send], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cli = [sys.executable, "-m", "agentyard.cli", "outbox", "list"]
    r = subprocess.run([*cli, "--to", "ann@example.com"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Subject: Code 87654321" in r.stdout and "hyphen:o" in r.stdout
    assert "Hello" not in r.stdout
    r = subprocess.run(cli, env=env, capture_output=True, text=True)
    assert "Subject: Hello" in r.stdout and "Subject: Code 87654321" in r.stdout
