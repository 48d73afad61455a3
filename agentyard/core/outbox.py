"""Outgoing email behind one provider interface, product-neutral (sign-in codes, invites).

`send_later(Message(...))` queues a message for a worker (so a request never waits for, nor
shows by its timing, an SMTP exchange; 3 retries 30 s apart); `send()` hands it to the
configured provider at once:

- `SmtpProvider` when `AGENTYARD_SMTP_URL` is set: `smtp://user:pass@host:port` (STARTTLS when
  the server offers it), `smtps://...` (TLS from the first byte); the sender is
  `AGENTYARD_SMTP_FROM`. Sent with the standard library's `smtplib`.
- `DevOutbox` otherwise (the default, offline): the message is stored in the
  `core_outbox_message` table and a log line names it; `agentyard outbox list [--to EMAIL]`
  prints what it holds. Nothing leaves the machine.

A message carries a `label` saying who sent it (`hyphen:org_...`, `hasp-studio:...`), shown by
the CLI; it never reaches the recipient.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import peewee

from agentyard.core import clock, ids, jobs, runtime
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, write

log = logging.getLogger("agentyard.outbox")

SMTP_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class Message:
    """One email: plain text, one recipient."""

    to: str
    subject: str
    text: str
    label: str = ""  # who sends it (surface and tenant), for the operator


class OutboxMessage(BaseModel):
    """A message the dev outbox kept instead of sending."""

    id = peewee.CharField(primary_key=True, max_length=40)
    to = peewee.CharField(max_length=254, index=True)
    subject = peewee.CharField(max_length=300)
    text = peewee.TextField()
    label = peewee.CharField(max_length=128, default="")
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "core_outbox_message"


register("core-outbox", [Migration(1, "dev outbox messages", create_tables(OutboxMessage))])


class Provider(Protocol):
    """Delivers a message or raises (`OutboxError`)."""

    @property
    def name(self) -> str: ...

    def send(self, message: Message) -> None: ...


class OutboxError(RuntimeError):
    """A message could not be handed over (the SMTP server refused it, was unreachable...)."""


class DevOutbox:
    """The offline default: keeps messages in the store and logs a line per message."""

    name = "dev"

    def send(self, message: Message) -> None:
        with write():
            row = OutboxMessage.create(
                id=ids.new_id("mail"),
                to=message.to,
                subject=message.subject[:300],
                text=message.text,
                label=message.label[:128],
                created_at=clock.now(),
            )
        log.info(
            "outbox (dev, offline; not sent): %s to %s: %s — `agentyard outbox list` shows it",
            row.id,
            message.to,
            message.subject,
        )


@dataclass(frozen=True)
class SmtpProvider:
    """Sends through an SMTP server named by a URL: `smtp[s]://[user:pass@]host[:port]`."""

    url: str
    sender: str
    name: str = "smtp"

    def _connect(self) -> smtplib.SMTP:
        parts = urlsplit(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise OutboxError("AGENTYARD_SMTP_URL must look like smtp://user:pass@host:port")
        host = parts.hostname
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host,
                parts.port or 465,
                timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=SMTP_TIMEOUT_SECONDS)
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        return client

    def send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email.set_content(message.text)
        try:
            client = self._connect()
            try:
                client.send_message(email)
            finally:
                try:
                    client.quit()
                except smtplib.SMTPException:
                    client.close()
        except (OSError, smtplib.SMTPException) as exc:
            raise OutboxError(f"SMTP delivery to {message.to} failed: {exc}") from exc


def provider() -> Provider:
    """The configured provider: SMTP when AGENTYARD_SMTP_URL is set, else the dev outbox."""
    settings = runtime.settings()
    if settings.smtp_url:
        return SmtpProvider(settings.smtp_url, settings.smtp_from)
    return DevOutbox()


def send(message: Message) -> None:
    """Hand `message` to the configured provider; raises `OutboxError` when it refuses."""
    provider().send(message)


@jobs.task(name="core.outbox_deliver", retries=3, retry_delay=30)
def _deliver(to: str, subject: str, text: str, label: str) -> None:
    send(Message(to, subject, text, label))


def send_later(message: Message) -> None:
    """Queue `message` for a worker to `send()` (retried 3 times, 30 s apart, on failure)."""
    _deliver(message.to, message.subject, message.text, message.label)


def messages(to: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """What the dev outbox holds (for one recipient when `to`), newest first."""
    query = OutboxMessage.select()
    if to is not None:
        query = query.where(peewee.fn.LOWER(OutboxMessage.to) == to.strip().lower())
    newest = query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    return list(newest.limit(limit))
