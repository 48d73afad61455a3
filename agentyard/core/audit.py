"""Per-tenant, hash-chained, Ed25519-signed audit log (the chain HASP's signed export carries).

Every entry carries the twelve HASP integrity columns (`INTEGRITY_FIELDS`), its `prev_hash`
(the tenant's previous entry's `hash`; 64 zeros for the first) and `hash`, the lowercase
SHA-256 hex of the JSON array of those twelve columns in order (`prev_hash` is not part of it),
encoded as HASP's verifier (github.com/UseHasp/verify, `src/hash.js`, `src/canonical.js`)
re-encodes it: `JSON.stringify` of the array, no whitespace, `/` and non-ASCII literal, and
`metadata` recursively key-sorted. `signature` is `"ed25519:" + base64(Ed25519(hash hex as
ASCII))` under the tenant's signing key. HASP's signed export (the envelope `hasp-verify`
checks) is built from these entries by `agentyard.hasp.audit_format`; `published_keys()` is
the document its `--keys-file` reads.

Canonical metadata. The verifier parses the export with `JSON.parse` and re-encodes metadata in
JavaScript, so `append()` stores metadata exactly as JavaScript will see it: numbers as
JavaScript prints them (`5.0` -> `5`, `1e-7`), object keys in JavaScript's order after the sort
(integer-like keys such as `"2"`, `"10"` first in numeric order, then the rest by UTF-16 code
units). Integers beyond +/-(2**53 - 1), NaN/Infinity, non-string keys and lone surrogates are
refused (`AuditError`): no JSON verifier could reproduce their hash. `None` and `{}` are
different metadata (`null` vs `{}`) and hash differently.

Ordering and concurrency. Entries of a tenant are numbered `seq` 1..n. `append()` serializes per
tenant on the tenant's chain-head row (`core_audit_chain`): `SELECT ... FOR UPDATE` on
PostgreSQL, the database write lock (`BEGIN IMMEDIATE` through `store.write()`) on SQLite, so
concurrent workers never fork a chain, and a unique (tenant, seq) index backs that up.
`created_at` never goes backwards along a chain (it is `max(now, previous created_at)`), so
`created_at DESC` order is chain order.

Inside a caller's transaction. `append()` joins an open transaction (as a savepoint): the
entry commits or rolls back with the caller's work, and other appenders for that tenant wait
until the caller's transaction ends. On SQLite the caller's transaction must be a write one
(`store.write()`, i.e. `BEGIN IMMEDIATE`); a deferred transaction that has already read may get
"database is locked" when it upgrades. On PostgreSQL use READ COMMITTED (the default).

Signing keys. One Ed25519 key per tenant (`core_audit_key`), created on first use and
"published" at creation. The private key is a PKCS#8 PEM, encrypted with the passphrase in the
environment variable `AGENTYARD_AUDIT_KEY_PASSPHRASE` when that is set at key creation (and then
needed to sign), otherwise stored unencrypted: protect the database accordingly.

Not implemented: key rotation (rows carry `key_id`/`status` so it can be added).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import peewee
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from ulid import ULID

from agentyard.core import b64, clock, ids, keys_at_rest
from agentyard.core.keys import Tenant
from agentyard.core.migrations import Migration, create_tables, register
from agentyard.core.store import (
    BaseModel,
    Prepared,
    PreparedInsert,
    connection,
    is_sqlite,
    raw,
    write,
)

ZERO_HASH = "0" * 64
INTEGRITY_FIELDS = (
    "user_id",
    "org_id",
    "project_id",
    "action",
    "entity_type",
    "entity_id",
    "metadata",
    "ip_address",
    "created_at",
    "phi_disposition",
    "subject_type",
    "subject_id_hmac",
)
EXPORT_FIELDS = (*INTEGRITY_FIELDS, "prev_hash", "hash", "signature")
PHI_DISPOSITIONS = ("not_present", "redacted_at_delivery", "reidentified_at_delivery")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PASSPHRASE_ENV = "AGENTYARD_AUDIT_KEY_PASSPHRASE"

_MAX_SAFE_INTEGER = 2**53 - 1
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")
_SURROGATE = re.compile("[\ud800-\udfff]")


class AuditError(ValueError):
    """Invalid input to the audit log (bad field, limit, cursor, range or metadata)."""


class AuditKey(BaseModel):
    """A tenant's Ed25519 signing key; `public_key_pem` is what `published_keys()` publishes."""

    id = peewee.CharField(primary_key=True, max_length=40)
    tenant = peewee.ForeignKeyField(Tenant, backref="audit_keys")
    algo = peewee.CharField(max_length=16, default="ed25519")
    private_key_pem = peewee.TextField()
    public_key_pem = peewee.TextField()
    published_at = peewee.DateTimeField()
    status = peewee.CharField(max_length=16, default="active")  # active | retired | revoked

    class Meta:
        table_name = "core_audit_key"


class AuditChain(BaseModel):
    """A tenant's chain head: the row appenders lock, and the HMAC key for subject ids."""

    tenant = peewee.ForeignKeyField(Tenant, primary_key=True, backref="audit_chain")
    tenant_id: str  # peewee's id accessor, declared for type checkers
    seq = peewee.BigIntegerField(default=0)
    head_hash = peewee.CharField(max_length=64, default=ZERO_HASH)
    head_created_at = peewee.DateTimeField(null=True)
    key_id = peewee.CharField(max_length=40, null=True)
    subject_key = peewee.CharField(max_length=64)

    class Meta:
        table_name = "core_audit_chain"


class AuditEntry(BaseModel):
    """One audit-log row; `hash_fields()` are the twelve columns its `hash` covers."""

    id = peewee.CharField(primary_key=True, max_length=26)  # bare ULID, as HASP shows
    tenant = peewee.ForeignKeyField(Tenant, backref="audit_entries")
    seq = peewee.BigIntegerField()
    user_id = peewee.CharField(max_length=255, null=True)
    org_id = peewee.CharField(max_length=255, null=True)
    project_id = peewee.CharField(max_length=255, null=True)
    action = peewee.CharField(max_length=128)
    entity_type = peewee.CharField(max_length=128, null=True)
    entity_id = peewee.CharField(max_length=255, null=True)
    metadata_json = peewee.TextField(column_name="metadata", null=True)  # canonical JSON
    ip_address = peewee.CharField(max_length=64, null=True)
    created_at = peewee.DateTimeField()
    phi_disposition = peewee.CharField(max_length=32, null=True)
    subject_type = peewee.CharField(max_length=64, null=True)
    subject_id_hmac = peewee.CharField(max_length=128, null=True)
    prev_hash = peewee.CharField(max_length=64)
    hash = peewee.CharField(max_length=64)
    signature = peewee.CharField(max_length=128)
    key_id = peewee.CharField(max_length=40)

    class Meta:
        table_name = "core_audit_entry"
        indexes = (
            (("tenant", "seq"), True),
            (("tenant", "created_at", "seq"), False),
            (("tenant", "entity_type", "entity_id"), False),
        )

    @property
    def metadata(self) -> Any:
        """The metadata as stored (canonical form), or None."""
        return None if self.metadata_json is None else json.loads(self.metadata_json)

    @property
    def created_at_iso(self) -> str:
        """`created_at` as hashed and exported: RFC 3339 UTC with milliseconds."""
        return clock.iso(self.created_at)  # type: ignore[return-value]

    def hash_fields(self) -> dict[str, Any]:
        """The twelve integrity columns, as hashed and exported."""
        return {
            "user_id": self.user_id,
            "org_id": self.org_id,
            "project_id": self.project_id,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "metadata": self.metadata,
            "ip_address": self.ip_address,
            "created_at": self.created_at_iso,
            "phi_disposition": self.phi_disposition,
            "subject_type": self.subject_type,
            "subject_id_hmac": self.subject_id_hmac,
        }

    def to_export(self) -> dict[str, Any]:
        """The entry as an `entries[]` item of the signed export (exactly `EXPORT_FIELDS`)."""
        return {
            **self.hash_fields(),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "signature": self.signature,
        }

    def to_api(self) -> dict[str, Any]:
        """The entry as HASP's `GET /v1/audit` lists it."""
        return {
            "id": self.id,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "user_id": self.user_id,
            "ip_address": self.ip_address,
            "metadata": self.metadata,
            "phi_disposition": self.phi_disposition,
            "integrity_hash": self.hash,
            "created_at": self.created_at_iso,
        }


register(
    "audit",
    [
        Migration(
            1,
            "audit log entries, chain heads and signing keys",
            create_tables(AuditKey, AuditChain, AuditEntry),
        )
    ],
)


# --- canonical JSON and the integrity hash -------------------------------------------------


def js_number(value: int | float) -> str:
    """A number as JavaScript's `JSON.stringify` writes it (ECMAScript Number::toString)."""
    if isinstance(value, bool):
        raise AuditError("booleans are not numbers")
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise AuditError(f"integer {value} exceeds 2**53 - 1; pass it as a string")
        return str(value)
    if not math.isfinite(value):
        raise AuditError("NaN and Infinity are not JSON")
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    exponent = cast(int, exponent)  # finite, so never "n", "N" or "F"
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    exponent += len(all_digits) - len(digits)
    k = len(digits)
    n = exponent + k  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return ("-" if sign else "") + text


def _js_key_order(key: str) -> tuple[int, int, bytes]:
    """JavaScript's own-property order after a sort: array indices numerically, then UTF-16."""
    if _ARRAY_INDEX.fullmatch(key) and int(key) < 2**32 - 1:
        return (0, int(key), b"")
    return (1, 0, key.encode("utf-16-be", "surrogatepass"))


def canonical_json(value: Any, sort_keys: bool = True) -> str:
    """`JSON.stringify(value)` with objects key-sorted (HASP's metadata canonicalization)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return js_number(value)
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise AuditError("strings must not contain lone surrogates")
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(v, sort_keys) for v in value) + "]"
    if isinstance(value, Mapping):
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise AuditError(f"object keys must be strings, got {key!r}")
        if sort_keys:
            keys.sort(key=_js_key_order)
        return (
            "{"
            + ",".join(canonical_json(k) + ":" + canonical_json(value[k], sort_keys) for k in keys)
            + "}"
        )
    raise AuditError(f"{type(value).__name__} is not JSON")


def hash_input(fields: Mapping[str, Any]) -> str:
    """The exact text an entry's hash covers: the twelve fields as a JSON array, in order."""
    parts = []
    for name in INTEGRITY_FIELDS:
        value = fields.get(name)
        parts.append(canonical_json(value, sort_keys=name == "metadata"))
    return "[" + ",".join(parts) + "]"


def entry_hash(fields: Mapping[str, Any]) -> str:
    """An entry's integrity hash: lowercase SHA-256 hex of `hash_input(fields)` in UTF-8."""
    return hashlib.sha256(hash_input(fields).encode("utf-8")).hexdigest()


# --- keys -----------------------------------------------------------------------------------

_private_cache: dict[str, tuple[str, Ed25519PrivateKey]] = {}


def _new_key(tenant_id: str) -> AuditKey:
    private = Ed25519PrivateKey.generate()
    private_pem = keys_at_rest.dump(private, [PASSPHRASE_ENV])
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return AuditKey.create(
        id=ids.new_id("key"),
        tenant=tenant_id,
        private_key_pem=private_pem,
        public_key_pem=public_pem,
        published_at=clock.now(),
    )


def _private_key(key: AuditKey) -> Ed25519PrivateKey:
    cached = _private_cache.get(key.id)
    if cached is not None and cached[0] == key.private_key_pem:
        return cached[1]
    try:
        private = keys_at_rest.load(key.private_key_pem, [PASSPHRASE_ENV])
    except ValueError as exc:
        raise AuditError(f"audit key {key.id}: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise AuditError(f"audit key {key.id} is not an Ed25519 key")
    _private_cache[key.id] = (key.private_key_pem, private)
    return private


def _public_key(pem: str) -> Ed25519PublicKey:
    public = serialization.load_pem_public_key(pem.encode())
    if not isinstance(public, Ed25519PublicKey):
        raise AuditError("not an Ed25519 public key")
    return public


def sign_hash(private: Ed25519PrivateKey, digest: str) -> str:
    """`"ed25519:" + base64(signature)` over the ASCII bytes of the hash hex string."""
    return "ed25519:" + base64.b64encode(private.sign(digest.encode("ascii"))).decode()


def signature_valid(public: Ed25519PublicKey, digest: str, signature: str) -> bool:
    """Whether `signature` ("ed25519:<base64>") signs the hash hex string `digest`."""
    algo, _, b64 = signature.partition(":")
    if algo != "ed25519" or not b64:
        return False
    try:
        public.verify(base64.b64decode(b64, validate=True), digest.encode("ascii"))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _chain_head(tenant_id: str) -> peewee.ModelSelect[AuditChain]:
    """The chain-head row, locked on PostgreSQL (SQLite's IMMEDIATE transaction already holds
    the database's write lock); a `Prepared` query is compiled per database."""
    rows = AuditChain.select().where(AuditChain.tenant == tenant_id)
    return rows if is_sqlite() else rows.for_update()


# The statements of every append: SQL compiled once.
_NEW_CHAIN: Prepared[AuditChain] = Prepared(
    lambda tenant_id, subject_key: AuditChain.insert(
        tenant=tenant_id, seq=0, head_hash=ZERO_HASH, subject_key=subject_key
    ).on_conflict_ignore()
)
_CHAIN_HEAD: Prepared[AuditChain] = Prepared(_chain_head)
_ADD_ENTRY: PreparedInsert[AuditEntry] = PreparedInsert(AuditEntry, list(AuditEntry._meta.fields))
_MOVE_HEAD: Prepared[AuditChain] = Prepared(
    lambda tenant_id, seq, head_hash, head_created_at: AuditChain.update(
        seq=raw(seq), head_hash=head_hash, head_created_at=raw(head_created_at)
    ).where(AuditChain.tenant == tenant_id)
)


def _lock_chain(tenant_id: str) -> AuditChain:
    """The tenant's chain-head row, created if absent and locked until the transaction ends.

    The insert comes first so that on SQLite the write lock is taken before anything is read.
    """
    _NEW_CHAIN.execute(tenant_id, secrets.token_hex(32))
    return _CHAIN_HEAD(tenant_id)[0]


def _active_key(chain: AuditChain) -> AuditKey:
    """The chain's signing key, created (and recorded on the locked chain row) on first use."""
    if chain.key_id is not None:
        return AuditKey.get_by_id(chain.key_id)
    key = _new_key(chain.tenant_id)
    AuditChain.update(key_id=key.id).where(AuditChain.tenant == chain.tenant_id).execute()
    chain.key_id = key.id
    return key


def _signer(chain: AuditChain) -> tuple[str, Ed25519PrivateKey]:
    """The chain's signing key id and private key; the key row is read only the first time
    this process signs with it (a key id's key never changes)."""
    if chain.key_id is not None:
        cached = _private_cache.get(chain.key_id)
        if cached is not None:
            return chain.key_id, cached[1]
    key = _active_key(chain)
    return key.id, _private_key(key)


def signing_key(tenant: Tenant) -> AuditKey:
    """The tenant's current signing key, created and published on first use."""
    with connection():
        chain = AuditChain.get_or_none(AuditChain.tenant == tenant.id)
        if chain is not None and chain.key_id is not None:
            return AuditKey.get_by_id(chain.key_id)
        with write():
            return _active_key(_lock_chain(tenant.id))


def published_keys(tenant: Tenant) -> dict[str, Any]:
    """The tenant's published-keys document (what `hasp-verify --keys-file` reads).

    `{tenant_id, keys: [{key_id, public_key_pem, published_at, status}]}`.
    """
    signing_key(tenant)
    with connection():
        keys = (
            AuditKey.select()
            .where(AuditKey.tenant == tenant.id)
            .order_by(AuditKey.published_at, AuditKey.id)
        )
        return {
            "tenant_id": tenant.id,
            "keys": [
                {
                    "key_id": k.id,
                    "public_key_pem": k.public_key_pem,
                    "published_at": clock.iso(k.published_at),
                    "status": k.status,
                }
                for k in keys
            ],
        }


def subject_hmac(tenant: Tenant, subject_id: str) -> str:
    """HMAC-SHA256 (hex) of a data subject's id under the tenant's secret subject key."""
    with connection():
        chain = AuditChain.get_or_none(AuditChain.tenant == tenant.id)
        if chain is None:
            with write():
                chain = _lock_chain(tenant.id)
        return _hmac(chain.subject_key, subject_id)


def _hmac(key_hex: str, subject_id: str) -> str:
    return hmac.new(bytes.fromhex(key_hex), subject_id.encode(), hashlib.sha256).hexdigest()


# --- append ---------------------------------------------------------------------------------


def _text(name: str, value: Any, max_length: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise AuditError(f"{name} is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise AuditError(f"{name} must be a string")
    if required and not value:
        raise AuditError(f"{name} must not be empty")
    if len(value) > max_length:
        raise AuditError(f"{name} is longer than {max_length} characters")
    if _SURROGATE.search(value):
        raise AuditError(f"{name} must not contain lone surrogates")
    return value


def append(
    tenant: Tenant,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    *,
    user_id: str | None = None,
    org_id: str | None = None,
    project_id: str | None = None,
    ip_address: str | None = None,
    metadata: Mapping[str, Any] | list[Any] | None = None,
    phi_disposition: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    subject_id_hmac: str | None = None,
) -> AuditEntry:
    """Append a signed entry to the tenant's chain and return it.

    `subject_id` (raw) is stored only as its HMAC under the tenant's subject key; pass
    `subject_id_hmac` instead when the caller computed it. Ids given as ints are stored as
    strings. Joins the caller's transaction if one is open (see the module docstring).
    """
    if phi_disposition is not None and phi_disposition not in PHI_DISPOSITIONS:
        raise AuditError(f"phi_disposition must be one of {', '.join(PHI_DISPOSITIONS)}")
    if subject_id is not None and subject_id_hmac is not None:
        raise AuditError("pass subject_id or subject_id_hmac, not both")
    if metadata is not None and not isinstance(metadata, Mapping | list | tuple):
        raise AuditError("metadata must be an object, an array or null")
    metadata_json = None if metadata is None else canonical_json(metadata)
    fields: dict[str, Any] = {
        "user_id": _text("user_id", user_id, 255),
        "org_id": _text("org_id", org_id, 255),
        "project_id": _text("project_id", project_id, 255),
        "action": _text("action", action, 128, required=True),
        "entity_type": _text("entity_type", entity_type, 128),
        "entity_id": _text("entity_id", entity_id, 255),
        "metadata": None if metadata_json is None else json.loads(metadata_json),
        "ip_address": _text("ip_address", ip_address, 64),
        "phi_disposition": phi_disposition,
        "subject_type": _text("subject_type", subject_type, 64),
        "subject_id_hmac": _text("subject_id_hmac", subject_id_hmac, 128),
    }
    subject = _text("subject_id", subject_id, 1024)

    with connection(), write():
        chain = _lock_chain(tenant.id)
        key_id, private = _signer(chain)
        if subject is not None:
            fields["subject_id_hmac"] = _hmac(chain.subject_key, subject)
        now = clock.now()
        created = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if chain.head_created_at is not None and chain.head_created_at > created:
            created = chain.head_created_at
        fields["created_at"] = clock.iso(created)
        digest = entry_hash(fields)
        seq = chain.seq + 1
        row = {
            "id": str(ULID()),
            "tenant": tenant.id,
            "seq": seq,
            "user_id": fields["user_id"],
            "org_id": fields["org_id"],
            "project_id": fields["project_id"],
            "action": fields["action"],
            "entity_type": fields["entity_type"],
            "entity_id": fields["entity_id"],
            "metadata_json": metadata_json,
            "ip_address": fields["ip_address"],
            "created_at": created,
            "phi_disposition": fields["phi_disposition"],
            "subject_type": fields["subject_type"],
            "subject_id_hmac": fields["subject_id_hmac"],
            "prev_hash": chain.head_hash,
            "hash": digest,
            "signature": sign_hash(private, digest),
            "key_id": key_id,
        }
        _ADD_ENTRY.execute(**row)
        _MOVE_HEAD.execute(tenant.id, seq, digest, created)
    return AuditEntry(**row)


# --- query ----------------------------------------------------------------------------------


def _encode_cursor(entry: AuditEntry) -> str:
    raw = json.dumps([entry.created_at_iso, entry.seq], separators=(",", ":")).encode()
    return b64.encode(raw)


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = b64.decode(cursor)
        created, seq = json.loads(raw)
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise TypeError
        return clock.parse(created), seq
    except (ValueError, TypeError, binascii.Error) as exc:
        raise AuditError("invalid cursor") from exc


def query(
    tenant: Tenant,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    *,
    project_id: str | None = None,
    user_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """One page of the tenant's entries, newest first; `next_cursor` is None on the last page.

    Order is `created_at` DESC, then `seq` DESC; `limit` is 1..200; the cursor is opaque.
    `since` (inclusive) and `until` (exclusive) bound `created_at` (naive UTC).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise AuditError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    rows = AuditEntry.select().where(AuditEntry.tenant == tenant.id)
    if action is not None:
        rows = rows.where(AuditEntry.action == action)
    if entity_type is not None:
        rows = rows.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        rows = rows.where(AuditEntry.entity_id == entity_id)
    if project_id is not None:
        rows = rows.where(AuditEntry.project_id == project_id)
    if user_id is not None:
        rows = rows.where(AuditEntry.user_id == user_id)
    if since is not None:
        rows = rows.where(AuditEntry.created_at >= since)
    if until is not None:
        rows = rows.where(AuditEntry.created_at < until)
    if cursor:
        created, seq = _decode_cursor(cursor)
        rows = rows.where(
            (AuditEntry.created_at < created)
            | ((AuditEntry.created_at == created) & (AuditEntry.seq < seq))
        )
    with connection():
        page = list(
            rows.order_by(AuditEntry.created_at.desc(), AuditEntry.seq.desc()).limit(limit + 1)
        )
    if len(page) > limit:
        return page[:limit], _encode_cursor(page[limit - 1])
    return page, None


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of `verify_chain`: `ok`, or the first broken entry and why.

    `problem` is one of `hash_mismatch`, `link_broken`, `sequence_gap`, `unknown_key`,
    `bad_signature`, `head_mismatch` (entries missing at or added past the head).
    """

    ok: bool
    entries: int
    head_hash: str
    broken_seq: int | None = None
    broken_id: str | None = None
    problem: str | None = None
    detail: str | None = None


def verify_chain(tenant: Tenant) -> VerifyResult:
    """Recompute every hash, link and signature of the tenant's chain, in `seq` order."""
    with connection():
        chain = AuditChain.get_or_none(AuditChain.tenant == tenant.id)
        head_seq = chain.seq if chain else 0
        head_hash = chain.head_hash if chain else ZERO_HASH
        publics: dict[str, Ed25519PublicKey] = {}
        for key in AuditKey.select().where(AuditKey.tenant == tenant.id):
            publics[key.id] = _public_key(key.public_key_pem)

        prev_hash, count = ZERO_HASH, 0
        rows = (
            AuditEntry.select()
            .where((AuditEntry.tenant == tenant.id) & (AuditEntry.seq <= head_seq))
            .order_by(AuditEntry.seq)
        )

        def broken(entry: AuditEntry | None, problem: str, detail: str) -> VerifyResult:
            return VerifyResult(
                False,
                count,
                head_hash,
                entry.seq if entry else head_seq,
                entry.id if entry else None,
                problem,
                detail,
            )

        for entry in rows.iterator():
            recomputed = entry_hash(entry.hash_fields())
            if recomputed != entry.hash:
                return broken(
                    entry, "hash_mismatch", f"recomputed {recomputed}, stored {entry.hash}"
                )
            if entry.prev_hash != prev_hash:
                return broken(
                    entry, "link_broken", f"prev_hash {entry.prev_hash}, expected {prev_hash}"
                )
            if entry.seq != count + 1:
                return broken(entry, "sequence_gap", f"seq {entry.seq}, expected {count + 1}")
            public = publics.get(entry.key_id)
            if public is None:
                return broken(entry, "unknown_key", f"no key {entry.key_id}")
            if not signature_valid(public, entry.hash, entry.signature):
                return broken(entry, "bad_signature", f"signature invalid under {entry.key_id}")
            prev_hash, count = entry.hash, count + 1

        if count != head_seq or prev_hash != head_hash:
            return broken(
                None, "head_mismatch", f"head is seq {head_seq} {head_hash}, chain ends at {count}"
            )
        max_seq = (
            AuditEntry.select(peewee.fn.MAX(AuditEntry.seq))
            .where(AuditEntry.tenant == tenant.id)
            .scalar()
        ) or 0
        latest = AuditChain.get_or_none(AuditChain.tenant == tenant.id)
        if max_seq > (latest.seq if latest else 0):
            return broken(None, "head_mismatch", f"entry seq {max_seq} lies past the chain head")
    return VerifyResult(True, count, head_hash)
