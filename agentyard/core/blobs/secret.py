"""The persisted signing key: a random secret generated once and kept in `core_blob_secret`,
shared by every worker and restart (insert-if-missing, then read back: racing processes agree).
Used only when no signing keys are configured; anyone who can read that table can forge URLs."""

from __future__ import annotations

import base64
import secrets

import peewee

from agentyard.core import clock
from agentyard.core.blobs.configuration import config
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, connection, db, write

SIGNING_SECRET_NAME = "url-signing"


class BlobSecret(BaseModel):
    """A server secret for blob URLs, generated once (`name` = its use)."""

    name = peewee.CharField(primary_key=True, max_length=64)
    secret = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "core_blob_secret"


register("blobs", [Migration(1, "blob URL signing secret", create_tables(BlobSecret))])

_secrets: dict[str, tuple[object, bytes]] = {}


def _stored_secret(name: str = SIGNING_SECRET_NAME) -> bytes:
    """The secret `name` from `core_blob_secret`, created on first use (race-safe)."""
    database = db.obj
    cached = _secrets.get(name)
    if cached is not None and cached[0] is database:
        return cached[1]
    with connection():
        row = BlobSecret.get_or_none(BlobSecret.name == name)
        if row is None:
            candidate = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            with write():
                BlobSecret.insert(
                    name=name, secret=candidate, created_at=clock.now()
                ).on_conflict_ignore().execute()
            row = BlobSecret.get_by_id(name)
    secret = base64.urlsafe_b64decode(row.secret)
    _secrets[name] = (database, secret)
    return secret


def signing_keys() -> tuple[bytes, ...]:
    """The configured signing keys, else the persisted one (created on first use)."""
    return config().signing_keys or (_stored_secret(),)
