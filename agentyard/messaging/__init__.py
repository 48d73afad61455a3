"""Outbound iMessage/SMS providers and inbound webhook helpers (Sendblue, offline).

See `agentyard.messaging.sendblue` for the error/retry table, splitting and webhook rules.
"""

from agentyard.messaging.sendblue import (
    DEFAULT_BASE_URL,
    MAX_CONTENT_CHARS,
    OFFLINE_STATUS,
    SIGNING_SECRET_HEADER,
    Deduper,
    InboundMessage,
    InvalidWebhook,
    MemoryDeduper,
    Messenger,
    OfflineMessenger,
    SendblueClient,
    SendblueError,
    SendblueValidationError,
    SentMessage,
    is_e164,
    messenger_for,
    parse_inbound,
    split_text,
    verify_signing_secret,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_CONTENT_CHARS",
    "OFFLINE_STATUS",
    "SIGNING_SECRET_HEADER",
    "Deduper",
    "InboundMessage",
    "InvalidWebhook",
    "MemoryDeduper",
    "Messenger",
    "OfflineMessenger",
    "SendblueClient",
    "SendblueError",
    "SendblueValidationError",
    "SentMessage",
    "is_e164",
    "messenger_for",
    "parse_inbound",
    "split_text",
    "verify_signing_secret",
]
