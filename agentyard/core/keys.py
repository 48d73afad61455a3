"""Tenants and API keys shared by every surface.

A key is random, shown once, and stored as its SHA-256 digest with a short visible prefix.
Each surface picks its key format (`secret_factory`) and names its tenants (realm, org, ...).
A key has a *kind*: most surfaces have one (`api`); a surface with several kinds of credential
(Harnesslayer's user keys beside its organization keys) looks each up in its own kind, so a key
of one kind never authenticates a route of another.

Lookups are cached in each process (`KeyCache`: keyed by the secret's digest, a short TTL,
bounded). Whatever revokes or changes a key calls `forget()`, which acts once the change is
committed: this process drops its entries at once, a marks file in the data dir tells every
other process on the host before their next lookup (a `stat()` per lookup), and a pub/sub
message (Redis) tells other hosts. A process whose Redis listener is down serves no cached
key. So a revoked key is refused by the very next request, whichever worker serves it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee

from agentyard.core import clock, ids
from agentyard.core.migrations import Migration, add_columns, create_tables, register
from agentyard.core.pubsub import Broker, Listener
from agentyard.core.store import BaseModel, Prepared, db, write

log = logging.getLogger("agentyard.keys")


class Tenant(BaseModel):
    """A surface's tenant: an AISP realm, a HASP org, a Hyphen org, ..."""

    id = peewee.CharField(primary_key=True, max_length=40)
    surface = peewee.CharField(max_length=32)
    name = peewee.CharField(max_length=128)
    created_at = peewee.DateTimeField()

    class Meta:
        table_name = "core_tenant"
        indexes = ((("surface", "name"), True),)


class ApiKey(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)
    tenant = peewee.ForeignKeyField(Tenant, backref="keys", on_delete="CASCADE")
    surface = peewee.CharField(max_length=32)
    kind = peewee.CharField(max_length=16, default="api")  # see DEFAULT_KIND
    name = peewee.CharField(max_length=128, default="")
    prefix = peewee.CharField(max_length=24)
    digest = peewee.CharField(max_length=64, unique=True)
    scopes = peewee.TextField(default="")
    created_at = peewee.DateTimeField()
    revoked_at = peewee.DateTimeField(null=True)
    last_four = peewee.CharField(max_length=4, default="")
    last_used_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "core_api_key"

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]

    def save(self, force_insert: bool = False, only: Any = None) -> int | bool:
        """Save; a change to an existing key is forgotten by every key cache once committed."""
        saved = super().save(force_insert=force_insert, only=only)
        if not force_insert:
            forget(self.id)
        return saved

    def delete_instance(self, recursive: bool = False, delete_nullable: bool = False) -> int:
        deleted = super().delete_instance(recursive=recursive, delete_nullable=delete_nullable)
        forget(self.id)
        return int(deleted)


register(
    "core",
    [
        Migration(1, "tenants and api keys", create_tables(Tenant, ApiKey)),
        Migration(
            2,
            "api key last_four and last_used_at",
            add_columns(ApiKey, "last_four", "last_used_at"),
        ),
        Migration(3, "api key kind", add_columns(ApiKey, "kind")),
    ],
)

DEFAULT_KIND = "api"  # the kind of a surface's ordinary API keys

TENANT_NAME_MAX = 128  # core_tenant.name
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class KeyRequestError(ValueError):
    """An operator's key request that cannot be honoured (unknown scope, bad tenant name ...)."""


@dataclass(frozen=True)
class Minted:
    """A key a surface minted for an operator (CLI, bootstrap) and what came with it."""

    key: ApiKey
    secret: str  # shown once, never stored
    owner: str  # whom the key acts for, as the operator names it: "realm team-a", ...
    created: tuple[str, ...] = ()  # what was created for it, e.g. "organization acme"
    notes: tuple[str, ...] = ()  # what the operator should know or do next


# A key's last use is written at most this often, so hot keys do not write on every request.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


CHANNEL = "core.keys"  # pub/sub: {"key": id} or {"key": null} (every key)
MARKS_FILE = "key-cache.marks"  # in the data dir: one byte appended per forget()


class KeyCache:
    """Recent key lookups of this process: (surface, kind, digest) -> key row with its tenant.

    Entries live `ttl` seconds at most, `max_entries` at most (least recently used out
    first). `generation` counts forgets: a lookup that started before one does not cache.
    """

    def __init__(
        self, ttl: float, max_entries: int, marks: Path | None, broker: Broker | None
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.marks = marks
        self.broker = broker
        self.generation = 0
        self._entries: OrderedDict[tuple[str, str, str], tuple[float, ApiKey]] = OrderedDict()
        self._lock = threading.Lock()
        self._marks_seen = self._marks_size()
        self._listener: Listener | None = None
        self._listener_pid = 0
        self._listener_lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.max_entries > 0

    def _marks_size(self) -> int:
        if self.marks is None:
            return 0
        try:
            return os.stat(self.marks).st_size
        except OSError:
            return -1

    def _fresh(self) -> bool:
        """Whether cached entries may be served: listening, and no other process's forget
        unseen (else everything is dropped first)."""
        if self.broker is not None:
            listener = self._listener
            if listener is None or self._listener_pid != os.getpid():
                listener = self._listen()
            if not listener.healthy:
                return False
        size = self._marks_size()
        if size != self._marks_seen:
            self.drop(None)
            self._marks_seen = size
        return True

    def _listen(self) -> Listener:
        """This process's listener for forgets (started once; again in a forked worker)."""
        assert self.broker is not None
        with self._listener_lock:
            if self._listener is None or self._listener_pid != os.getpid():
                self._listener = self.broker.listen(
                    CHANNEL, self._on_message, on_gap=lambda: self.drop(None)
                )
                self._listener_pid = os.getpid()
            return self._listener

    def _on_message(self, message: dict[str, Any]) -> None:
        key_id = message.get("key")
        self.drop(key_id if isinstance(key_id, str) else None)

    def get(self, ident: tuple[str, str, str]) -> ApiKey | None:
        if not self._fresh():
            return None
        with self._lock:
            found = self._entries.get(ident)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._entries[ident]
                return None
            self._entries.move_to_end(ident)
            return found[1]

    def put(self, ident: tuple[str, str, str], key: ApiKey, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return  # a forget ran meanwhile: the row read may be stale
            self._entries[ident] = (time.monotonic() + self.ttl, key)
            self._entries.move_to_end(ident)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def drop(self, key_id: str | None) -> None:
        """Drop the entries of `key_id` (None: every entry)."""
        with self._lock:
            self.generation += 1
            if key_id is None:
                self._entries.clear()
                return
            for ident in [i for i, (_, k) in self._entries.items() if k.id == key_id]:
                del self._entries[ident]

    def announce(self, key_id: str | None) -> None:
        """Tell every process (this one at once) to drop `key_id`."""
        self.drop(key_id)
        if self.marks is not None:
            try:
                with open(self.marks, "ab") as marks:
                    marks.write(b".")
            except OSError:
                log.exception("could not append to %s", self.marks)
        if self.broker is not None:
            try:
                self.broker.publish(CHANNEL, {"key": key_id})
            except Exception:  # the change is committed; listeners that missed it go unhealthy
                log.exception("could not publish a key cache forget")


_cache = KeyCache(0, 0, None, None)  # off until configure_cache()


def configure_cache(
    ttl: float, max_entries: int, data_dir: Path | None, broker: Broker | None
) -> KeyCache:
    """Start a fresh key cache (the process's store or broker changed)."""
    global _cache
    marks = None
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        marks = data_dir / MARKS_FILE
        marks.touch()
    old, _cache = _cache, KeyCache(ttl, max_entries, marks, broker)
    if old._listener is not None:
        old._listener.close()
    return _cache


def forget(key_id: str | None = None) -> None:
    """Once the running transaction commits (at once outside one), make every process drop
    the cached lookups of `key_id` (None: of every key). Call it on any change to a key."""
    cache = _cache
    db.after_commit(lambda: cache.announce(key_id))


def digest(secret: str) -> str:
    """The SHA-256 hex digest a key is stored as."""
    return hashlib.sha256(secret.encode()).hexdigest()


def random_secret(prefix: str, nbytes: int = 16) -> str:
    """`<prefix><2*nbytes hex>`, e.g. `aisp_key_3f...`."""
    return prefix + secrets.token_hex(nbytes)


def get_or_create_tenant(surface: str, name: str) -> tuple[Tenant, bool]:
    """The tenant `name` of `surface`, created when absent."""
    with write():
        tenant = Tenant.get_or_none((Tenant.surface == surface) & (Tenant.name == name))
        if tenant is not None:
            return tenant, False
        tenant = Tenant.create(
            id=ids.new_id("ten"), surface=surface, name=name, created_at=clock.now()
        )
        return tenant, True


def find_tenant(surface: str, name: str) -> Tenant | None:
    return Tenant.get_or_none((Tenant.surface == surface) & (Tenant.name == name))


def check_tenant_name(name: str, label: str = "tenant") -> str:
    """`name` when it can name a tenant (1-128 characters, no control characters)."""
    if not name.strip() or len(name) > TENANT_NAME_MAX or _CONTROL.search(name):
        raise KeyRequestError(
            f"{label} name must be 1-{TENANT_NAME_MAX} characters without control characters"
        )
    return name


def check_kind(kind: str, known: Sequence[str]) -> str:
    """`kind` when it is one of a surface's key kinds."""
    if kind not in known:
        raise KeyRequestError(f"unknown key kind {kind!r}; known: {', '.join(known)}")
    return kind


def choose_scopes(
    requested: Sequence[str] | None, known: Sequence[str], default: Sequence[str]
) -> tuple[list[str], str | None]:
    """The scopes a new key gets and a note when they were defaulted.

    `requested` None or empty takes `default`; an unknown scope is refused, naming the known
    ones (a surface whose keys take no scopes knows none).
    """
    if not requested:
        if not default:
            return [], None
        return list(default), (
            f"no scopes given: the key gets {', '.join(default)} (all known: {', '.join(known)})"
        )
    unknown = [s for s in requested if s not in known]
    if unknown:
        if not known:
            raise KeyRequestError("these keys take no scopes")
        raise KeyRequestError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return list(dict.fromkeys(requested)), None


def create_key(
    tenant: Tenant,
    secret_factory: Callable[[], str],
    name: str = "",
    scopes: list[str] | None = None,
    kind: str = DEFAULT_KIND,
) -> tuple[ApiKey, str]:
    """Mint a key for `tenant`; returns the row and the secret (shown once, never stored)."""
    secret = secret_factory()
    key = ApiKey.create(
        id=ids.new_id("key"),
        tenant=tenant,
        surface=tenant.surface,
        kind=kind,
        name=name,
        prefix=secret[:16],
        last_four=secret[-4:],
        digest=digest(secret),
        scopes=",".join(scopes or []),
        created_at=clock.now(),
    )
    return key, secret


_by_digest: Prepared[ApiKey] = Prepared(
    lambda hexdigest, surface, kind: (
        ApiKey.select(ApiKey, Tenant)
        .join(Tenant)
        .where(
            (ApiKey.digest == hexdigest)
            & (ApiKey.surface == surface)
            & (ApiKey.kind == kind)
            & (ApiKey.revoked_at.is_null())
        )
    )
)


def lookup(surface: str, secret: str, kind: str = DEFAULT_KIND) -> ApiKey | None:
    """The live (unrevoked) key of `surface` and `kind` whose secret this is, with its tenant.

    From the process's key cache, else one query on the unique digest index.
    """
    if not secret or len(secret) > 256:
        return None
    ident = (surface, kind, digest(secret))
    cache = _cache
    if cache.enabled:
        cached = cache.get(ident)
        if cached is not None:
            return cached
    generation = cache.generation
    rows = _by_digest(ident[2], surface, kind)
    key = rows[0] if rows else None
    if key is not None and cache.enabled:
        cache.put(ident, key, generation)
    return key


def touch(key: ApiKey) -> None:
    """Record that `key` was used now (at most once per LAST_USED_RESOLUTION)."""
    now = clock.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.update(last_used_at=now).where(ApiKey.id == key.id).execute()
    key.last_used_at = now


def list_keys(surface: str) -> list[ApiKey]:
    """Every key of `surface`, of every kind, oldest first."""
    return list(
        ApiKey.select(ApiKey, Tenant)
        .join(Tenant)
        .where(ApiKey.surface == surface)
        .order_by(ApiKey.created_at, ApiKey.id)
    )


ELLIPSES = ("…", "...")


def shown(key: ApiKey) -> str:
    """How a key is shown once its secret is gone: `<prefix>…<last four>`."""
    return f"{key.prefix}…{key.last_four}"


def _matching(surface: str, ref: str) -> peewee.Expression:
    """Keys of `surface` that `ref` names: an id, the secret itself, a visible prefix, or the
    `prefix…last4` form `shown()` prints (`...` for `…` too; the last four may be left off)."""
    named = (ApiKey.id == ref) | (ApiKey.digest == digest(ref)) | (ApiKey.prefix == ref)
    for mark in ELLIPSES:
        if mark in ref:
            head, _, tail = ref.partition(mark)
            shown_form = ApiKey.prefix == head
            if tail:
                shown_form &= ApiKey.last_four == tail
            named |= shown_form
    return (ApiKey.surface == surface) & named


def revoke(surface: str, ref: str) -> ApiKey | None:
    """Revoke the live key of `surface` that `ref` names (see `_matching`); None when no live
    key matches. KeyRequestError when `ref` names several live keys (a shared prefix)."""
    ref = ref.strip()
    if not ref or len(ref) > 256:
        return None
    with write():
        live = list(ApiKey.select().where(_matching(surface, ref) & ApiKey.revoked_at.is_null()))
        if len(live) > 1:
            raise KeyRequestError(
                f"{ref} names {len(live)} keys ({', '.join(k.id for k in live)}); revoke by id"
            )
        if not live:
            return None
        key = live[0]
        key.revoked_at = clock.now()
        ApiKey.update(revoked_at=key.revoked_at).where(ApiKey.id == key.id).execute()
        forget(key.id)
    return key


def has_tenants(surface: str) -> bool:
    return Tenant.select().where(Tenant.surface == surface).exists()
