"""The realm memory store: dotted keys, owned by their first writer, shared through grants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import peewee

from agentyard.aisp.access import pattern_matches, patterns_held
from agentyard.aisp.auth import Caller
from agentyard.aisp.models import MemoryEntry
from agentyard.core import clock
from agentyard.core.errors import ApiError
from agentyard.core.store import write

MAX_VALUE_BYTES = 64 * 1024


def _in_namespace(namespace: str) -> Any:
    # Keys hold only [A-Za-z0-9_.-]; "/" sorts right after ".", so this range is `ns.*`.
    return (MemoryEntry.key == namespace) | (
        (MemoryEntry.key > namespace + ".") & (MemoryEntry.key < namespace + "/")
    )


class _Access:
    """Which foreign keys a session may touch with one memory capability."""

    def __init__(self, session_id: str, capability: str) -> None:
        self.session_id = session_id
        self.patterns = patterns_held(session_id, capability)

    def allows(self, entry: MemoryEntry) -> bool:
        if entry.owner == self.session_id:
            return True
        return any(pattern_matches(p, entry.key) for p in self.patterns.get(entry.owner, []))


def entry_view(entry: MemoryEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "value": json.loads(entry.value),
        "owner": entry.owner,
        "updated_at": clock.iso(entry.updated_at),
    }


def read(caller: Caller, namespace: str | None, limit: int, after: str | None) -> list[MemoryEntry]:
    """Entries the caller may read, by key; 403 when a namespace holds unreadable keys."""
    me = caller.require_session()
    access = _Access(me.id, "memory.read")
    base = MemoryEntry.select().where(MemoryEntry.realm == caller.realm.id)
    if namespace:
        base = base.where(_in_namespace(namespace))
        foreign = base.where(MemoryEntry.owner != me.id).order_by(MemoryEntry.key)
        for entry in foreign.iterator():
            if not access.allows(entry):
                raise ApiError(
                    403,
                    "no_read_grant",
                    f"No read grant for namespace {namespace}: {entry.key} belongs to "
                    f"{entry.owner}",
                    details={"key": entry.key, "owner": entry.owner},
                )
    else:
        base = base.where(MemoryEntry.owner << [me.id, *access.patterns])
    if after:
        base = base.where(MemoryEntry.key > after)
    return list(_take(base.order_by(MemoryEntry.key).iterator(), access, limit))


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
    except peewee.IntegrityError:  # a concurrent first write of a key won: retry once
        try:
            with write():
                _write_batch(caller, me.id, values)
        except peewee.IntegrityError:
            raise ApiError(409, "conflict", "Concurrent writes to the same keys") from None
    return keys


def _write_batch(caller: Caller, session_id: str, values: dict[str, str]) -> None:
    existing = {
        e.key: e
        for e in MemoryEntry.select().where(
            (MemoryEntry.realm == caller.realm.id) & (MemoryEntry.key << list(values))
        )
    }
    access = _Access(session_id, "memory.write")
    for entry in existing.values():
        if not access.allows(entry):
            raise ApiError(
                403,
                "no_write_grant",
                f"No write grant for namespace: {entry.key} belongs to {entry.owner}",
                details={"key": entry.key, "owner": entry.owner},
            )
    now = clock.now()
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
                owner=session_id,
                created_at=now,
                updated_at=now,
            )


def delete(caller: Caller, key: str) -> None:
    me = caller.require_session()
    with write():
        entry = MemoryEntry.get_or_none(
            (MemoryEntry.realm == caller.realm.id) & (MemoryEntry.key == key)
        )
        if entry is None:
            raise ApiError(404, "key_not_found", f"Key not found: {key}")
        if not _Access(me.id, "memory.delete").allows(entry):
            raise ApiError(403, "no_delete_grant", f"No delete grant for {key}")
        entry.delete_instance()
