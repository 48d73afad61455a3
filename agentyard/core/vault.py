"""Secrets encrypted at rest: AES-256-GCM tokens bound to a context, and `EncryptedField`.

`encrypt(plaintext, context)` returns `v1:<key id>:<base64url(nonce || ciphertext || tag)>`
with a random 96-bit nonce; the associated data binds the version, the key id and `context`
(e.g. `"hasp.webhook.secret"`), so a token decrypts only under the same context and any change
to it fails. `decrypt(token, context)` (str) / `decrypt_bytes` raise `VaultError` for a wrong
context, a modified or malformed token, or an unknown key.

Keys. `configure(keys)` takes `AGENTYARD_VAULT_KEY`: one or more comma-separated base64 keys of
32 bytes (`generate_key()` makes one). The first encrypts; every one decrypts, so rotation is:
put the new key first, keep the old ones, re-encrypt (`reencrypt()`), then drop them. A key's
id is derived from the key (8 hex digits of a SHA-256), so no id needs configuring.

Without configured keys a key is generated once and stored in `core_vault_key` (insert if
missing, then read back: every worker and restart agrees). That stored key also stays usable
for decryption after keys are configured, so setting the variable later loses nothing. When
`AGENTYARD_VAULT_KEY_PASSPHRASE` is set at creation, the stored key is wrapped with AES-GCM
under a scrypt-derived key (the passphrase is then needed to start). Trade-off: a key stored in
the same database as the data it protects only helps against leaks of the data tables alone
(dumps or backups that leave out `core_vault_key`, or when the passphrase is kept elsewhere);
whoever has the whole database and the passphrase has the secrets. In production set
`AGENTYARD_VAULT_KEY` (from a secret manager) instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import peewee
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from agentyard.config import Settings
from agentyard.core import b64, clock, keys_at_rest
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import BaseModel, connection, db, write

KEY_ENV = "AGENTYARD_VAULT_KEY"
PASSPHRASE_ENV = "AGENTYARD_VAULT_KEY_PASSPHRASE"
VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
STORED_KEY_NAME = "default"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1

_TOKEN = re.compile(r"v1:([0-9a-f]{8}):([A-Za-z0-9_-]+)")
_AAD_DOMAIN = b"agentyard vault\0"
_WRAP_AAD = b"agentyard vault key wrap v1"


class VaultError(Exception):
    """A secret could not be encrypted or decrypted (wrong context, tampering, no key)."""


@dataclass(frozen=True)
class VaultKey:
    """A 32-byte AES key and its derived id."""

    secret: bytes = field(repr=False)
    kid: str = ""

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise VaultError(f"a vault key is {KEY_BYTES} bytes")
        if not self.kid:
            object.__setattr__(self, "kid", key_id(self.secret))


def key_id(secret: bytes) -> str:
    """The id of a key: 8 hex digits of SHA-256 over a label and the key."""
    return hashlib.sha256(b"agentyard vault key id\0" + secret).hexdigest()[:8]


def generate_key() -> str:
    """A new random key, base64 (a value for AGENTYARD_VAULT_KEY)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_keys(value: str | Sequence[str | bytes] | None) -> tuple[VaultKey, ...]:
    """Keys from a comma-separated base64 string, or a sequence of base64 strings or raw bytes."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    keys: list[VaultKey] = []
    for item in items:
        if isinstance(item, bytes | bytearray):
            raw = bytes(item)
        else:
            text = item.strip()
            if not text:
                continue
            try:
                raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                raise VaultError("vault keys must be base64") from None
        keys.append(VaultKey(raw))
    if len({k.kid for k in keys}) != len(keys):
        raise VaultError("duplicate vault keys")
    return tuple(keys)


_configured: tuple[VaultKey, ...] | None = None


def configure(keys: str | Sequence[str | bytes] | None = None) -> tuple[VaultKey, ...]:
    """Set the configured keys (first encrypts); None or empty: use the stored key."""
    global _configured
    _configured = parse_keys(keys)
    return _configured


def configured_keys() -> tuple[VaultKey, ...]:
    """The configured keys (from AGENTYARD_VAULT_KEY if `configure()` was never called)."""
    if _configured is None:
        return configure(Settings.from_env().vault_key)
    return _configured


# --- the stored key -------------------------------------------------------------------------


class StoredVaultKey(BaseModel):
    """The generated vault key: `raw:<base64>`, or `scrypt:<n>:<r>:<p>:<salt>:<wrapped>`."""

    name = peewee.CharField(primary_key=True, max_length=64)
    kid = peewee.CharField(max_length=16)
    material = peewee.TextField()
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "core_vault_key"


register("vault", [Migration(1, "generated vault key", create_tables(StoredVaultKey))])


def _kek(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(passphrase)


def _wrap(secret: bytes) -> str:
    passphrase = keys_at_rest.passphrase([PASSPHRASE_ENV])
    if passphrase is None:
        return "raw:" + b64.encode(secret)
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(NONCE_BYTES)
    kek = _kek(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    wrapped = nonce + AESGCM(kek).encrypt(nonce, secret, _WRAP_AAD)
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}:{b64.encode(salt)}:{b64.encode(wrapped)}"


def _unwrap(material: str) -> bytes:
    kind, _, rest = material.partition(":")
    try:
        if kind == "raw":
            return b64.decode(rest)
        if kind == "scrypt":
            passphrase = keys_at_rest.passphrase([PASSPHRASE_ENV])
            if passphrase is None:
                raise VaultError(f"the stored vault key is wrapped; set {PASSPHRASE_ENV}")
            n, r, p, salt, wrapped = rest.split(":")
            blob = b64.decode(wrapped)
            kek = _kek(passphrase, b64.decode(salt), int(n), int(r), int(p))
            return AESGCM(kek).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _WRAP_AAD)
    except InvalidTag:
        raise VaultError(f"wrong {PASSPHRASE_ENV} for the stored vault key") from None
    except (binascii.Error, ValueError):
        raise VaultError("the stored vault key is malformed") from None
    raise VaultError(f"unknown stored vault key format {kind!r}")


_stored: dict[str, tuple[object, VaultKey | None]] = {}


def _stored_key(name: str = STORED_KEY_NAME, *, create: bool) -> VaultKey | None:
    """The stored key `name` (None if absent and not `create`); created race-safely."""
    database = db.obj
    cached = _stored.get(name)
    if cached is not None and cached[0] is database and (cached[1] is not None or not create):
        return cached[1]
    with connection():
        row = StoredVaultKey.get_or_none(StoredVaultKey.name == name)
        if row is None and create:
            secret = secrets.token_bytes(KEY_BYTES)
            with write():
                StoredVaultKey.insert(
                    name=name, kid=key_id(secret), material=_wrap(secret), created_at=clock.now()
                ).on_conflict_ignore().execute()
            row = StoredVaultKey.get_by_id(name)
    key = None if row is None else VaultKey(_unwrap(row.material))
    if key is not None and key.kid != cast(StoredVaultKey, row).kid:  # a key comes from a row
        raise VaultError("the stored vault key does not match its id")
    _stored[name] = (database, key)
    return key


def _encryption_key() -> VaultKey:
    keys = configured_keys()
    if keys:
        return keys[0]
    key = _stored_key(create=True)
    if key is None:  # pragma: no cover - create=True always yields a key
        raise VaultError("no vault key")
    return key


def _decryption_key(kid: str) -> VaultKey:
    for key in configured_keys():
        if key.kid == kid:
            return key
    stored = _stored_key(create=False)
    if stored is None or stored.kid != kid:
        _stored.pop(STORED_KEY_NAME, None)  # another worker may have created it since
        stored = _stored_key(create=False)
    if stored is not None and stored.kid == kid:
        return stored
    raise VaultError(f"no vault key {kid!r}")


# --- tokens ---------------------------------------------------------------------------------


def _aad(kid: str, context: str) -> bytes:
    if not isinstance(context, str):
        raise VaultError("context must be a string")
    return _AAD_DOMAIN + f"{VERSION}\0{kid}\0".encode() + context.encode()


def encrypt(plaintext: str | bytes, context: str) -> str:
    """`v1:<key id>:<base64url>`: AES-256-GCM of `plaintext` (str as UTF-8) bound to `context`."""
    if isinstance(plaintext, str):
        data = plaintext.encode()
    elif isinstance(plaintext, bytes | bytearray | memoryview):
        data = bytes(plaintext)
    else:
        raise VaultError("plaintext must be str or bytes")
    key = _encryption_key()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key.secret).encrypt(nonce, data, _aad(key.kid, context))
    return f"{VERSION}:{key.kid}:{b64.encode(nonce + sealed)}"


def token_key_id(token: str) -> str:
    """The id of the key that encrypted `token`; `VaultError` if it is not a vault token."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise VaultError("not a vault token")
    return match.group(1)


def decrypt_bytes(token: str, context: str) -> bytes:
    """The plaintext bytes of `token` encrypted under `context`; `VaultError` otherwise."""
    kid = token_key_id(token)
    try:
        blob = b64.decode(token.rsplit(":", 1)[1])
    except (binascii.Error, ValueError):
        raise VaultError("malformed vault token") from None
    if len(blob) < NONCE_BYTES + 16:
        raise VaultError("malformed vault token")
    key = _decryption_key(kid)
    try:
        return AESGCM(key.secret).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, context)
        )
    except InvalidTag:
        raise VaultError("cannot decrypt: wrong context, or the token was modified") from None


def decrypt(token: str, context: str) -> str:
    """The plaintext of `token` as text (UTF-8); `VaultError` on any failure."""
    try:
        return decrypt_bytes(token, context).decode()
    except UnicodeDecodeError:
        raise VaultError("the secret is not UTF-8 text; use decrypt_bytes") from None


def reencrypt(token: str, context: str) -> str:
    """`token` under the current encryption key (itself when it already is): for rotation."""
    if token_key_id(token) == _encryption_key().kid:
        decrypt_bytes(token, context)  # still refuse a bad token
        return token
    return encrypt(decrypt_bytes(token, context), context)


# --- the peewee field -----------------------------------------------------------------------


class EncryptedField(peewee.TextField):
    """A text column holding `encrypt(value, context)`; reads give the plaintext back.

    `context` defaults to `"<table>.<column>"`, so a ciphertext copied to another column fails.
    Values are not comparable in queries (each write uses a new nonce): filter on other
    columns, or `is_null()`. Bind to a row by encrypting yourself with a context holding its id.
    Reading a value that does not decrypt (wrong key or context) raises `VaultError`.
    """

    def __init__(self, context: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = context

    def _context(self) -> str:
        return self.context or f"{self.model._meta.table_name}.{self.column_name}"

    def db_value(self, value: str | bytes | None) -> str | None:
        return None if value is None else encrypt(value, self._context())

    def python_value(self, value: str | None) -> str | None:
        return None if value is None else decrypt(value, self._context())
