"""The realm memory store: dotted keys in namespaces owned by sessions, shared through grants.

A key's namespace is its first dotted segment (`project` for `project.name`). The first session
to write a key in a namespace owns the namespace, and with it every key in it (an entry's
`owner` is always its namespace's owner). Others read, write and delete keys there only
through the owner's `memory.read` / `memory.write` / `memory.delete` grants. A namespace stays
owned, even when empty, until its owner is deregistered (see sessions.deregister).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import peewee

from agentyard.aisp.access import pattern_matches, patterns_held
from agentyard.aisp.auth import Caller
from agentyard.aisp.models import MemoryEntry, Namespace, key_starts_with, namespace_of
from agentyard.core import clock
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.core.tenancy import find_in_tenant

MAX_VALUE_BYTES = 64 * 1024


def _matching(namespace: str) -> Any:
    """The `?namespace=` filter: `a.b.*` is `a.b` and the keys under it, as in grants;
    anything else is a plain prefix of the key (`proj` matches `project.x`)."""
    if namespace.endswith(".*"):
        base = namespace[:-2]
        return (MemoryEntry.key == base) | key_starts_with(base + ".")
    return key_starts_with(namespace)


class _Access:
    """Which keys of other sessions' namespaces a session may touch with one capability."""

    def __init__(self, session_id: str, capability: str) -> None:
        self.session_id = session_id
        self.patterns = patterns_held(session_id, capability)

    def allows_key(self, owner: str, key: str) -> bool:
        if owner == self.session_id:
            return True
        return any(pattern_matches(p, key) for p in self.patterns.get(owner, []))

    def allows(self, entry: MemoryEntry) -> bool:
        return self.allows_key(entry.owner, entry.key)


def entry_view(entry: MemoryEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "value": json.loads(entry.value),
        "owner": entry.owner,
        "updated_at": clock.iso(entry.updated_at),
    }


def read(caller: Caller, namespace: str | None, limit: int, after: str | None) -> list[MemoryEntry]:
    """Entries the caller may read, by key. With a `namespace` filter that matches keys of
    which the caller may read none: 403."""
    me = caller.require_session()
    access = _Access(me.id, "memory.read")
    base = MemoryEntry.select().where(MemoryEntry.realm == caller.realm.id)
    if namespace == "*":  # every key, as in grants: the same as no filter
        namespace = None
    if namespace:
        base = base.where(_matching(namespace))
    else:
        base = base.where(MemoryEntry.owner << [me.id, *access.patterns])
    page = base.where(MemoryEntry.key > after) if after else base
    entries = list(_take(page.order_by(MemoryEntry.key).iterator(), access, limit))
    if namespace and not entries:
        _check_readable(base.order_by(MemoryEntry.key), access, namespace)
    return entries


def _check_readable(matched: Any, access: _Access, namespace: str) -> None:
    """403 when `matched` holds keys and the caller may read none of them."""
    first = None
    for entry in matched.iterator():
        if access.allows(entry):
            return
        first = first or entry
    if first is not None:
        raise ApiError(
            403,
            "no_read_grant",
            f"No read grant for namespace {namespace}: its keys belong to {first.owner}",
            details={"key": first.key, "owner": first.owner},
        )


def _take(entries: Iterator[MemoryEntry], access: _Access, limit: int) -> Iterator[MemoryEntry]:
    taken = 0
    for entry in entries:
        if taken >= limit:
            return
        if access.allows(entry):
            taken += 1
            yield entry


def _serialize(key: str, value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode())
    if size > MAX_VALUE_BYTES:
        raise ApiError(
            422,
            "value_too_large",
            f"Value exceeds 64KB limit: {key} is {size} bytes serialized",
            details={"key": key, "bytes": size, "limit": MAX_VALUE_BYTES},
        )
    return text


def write_entries(caller: Caller, entries: list[tuple[str, Any]]) -> list[str]:
    """Write a batch all-or-nothing; returns the keys written."""
    me = caller.require_session()
    keys = [key for key, _ in entries]
    if len(set(keys)) != len(keys):
        raise ApiError(400, "invalid_request", "A key may appear only once per batch")
    values = {key: _serialize(key, value) for key, value in entries}
    try:
        with write():
            _write_batch(caller, me.id, values)
    except peewee.IntegrityError:  # a concurrent first write of a key or namespace won: retry once
        try:
            with write():
                _write_batch(caller, me.id, values)
        except peewee.IntegrityError:
            raise ApiError(409, "conflict", "Concurrent writes to the same keys") from None
    return keys


def _write_batch(caller: Caller, session_id: str, values: dict[str, str]) -> None:
    names = {namespace_of(key) for key in values}
    owners = {
        n.name: n.owner
        for n in Namespace.select().where(
            (Namespace.realm == caller.realm.id) & (Namespace.name << list(names))
        )
    }
    access = _Access(session_id, "memory.write")
    for key in values:
        owner = owners.get(namespace_of(key), session_id)
        if not access.allows_key(owner, key):
            raise ApiError(
                403,
                "no_write_grant",
                f"No write grant for namespace {namespace_of(key)}: it belongs to {owner}",
                details={"key": key, "owner": owner},
            )
    now = clock.now()
    for name in sorted(names - set(owners)):  # first write in a namespace claims it
        Namespace.create(realm=caller.realm, name=name, owner=session_id, created_at=now)
        owners[name] = session_id
    existing = {
        e.key: e
        for e in MemoryEntry.select(MemoryEntry.id, MemoryEntry.key).where(
            (MemoryEntry.realm == caller.realm.id) & (MemoryEntry.key << list(values))
        )
    }
    for key, text in values.items():
        if key in existing:
            MemoryEntry.update(value=text, updated_at=now).where(
                MemoryEntry.id == existing[key].id
            ).execute()
        else:
            MemoryEntry.create(
                realm=caller.realm,
                key=key,
                value=text,
                owner=owners[namespace_of(key)],
                created_at=now,
                updated_at=now,
            )


def delete(caller: Caller, key: str) -> None:
    me = caller.require_session()
    with write():
        entry = find_in_tenant(
            MemoryEntry,
            key,
            caller.realm.id,
            what="key",
            id_field="key",
            tenant_field="realm",
            code="key_not_found",
            message=f"Key not found: {key}",
        )
        if not _Access(me.id, "memory.delete").allows(entry):
            raise ApiError(403, "no_delete_grant", f"No delete grant for {key}")
        entry.delete_instance()
