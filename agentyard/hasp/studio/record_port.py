"""The port between workflows and the records domain: what record steps call, and the hook the
records domain calls after a mutation.

Workflows do not import the records module. The records domain (entities and records) fills
the port once at import: `record_port.connect(adapter)`, where `adapter` implements
`RecordPort`. Until then record steps fail cleanly (`records_unavailable`). After every record
mutation the records domain calls `record_port.changed(RecordChange(...))`; that starts the
runs of the project's `record_change` workflows whose entity and field match (the listener is
`triggers.on_record_change`, registered with `listen`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentyard.flows import StepFailed


@dataclass(frozen=True)
class Actor:
    """Who acts on records: a member (`user`), a workflow run (`workflow`), an agent, ..."""

    type: str  # user | agent | workflow | integration
    id: str | None = None


@dataclass(frozen=True)
class RecordScope:
    """Where a record step acts: the org, the project, the run acting, and a key that is the
    same on every attempt of the step (to make a retried create idempotent)."""

    org_id: str
    project_id: str
    actor: Actor
    idempotency_key: str | None = None


class RecordPort(Protocol):
    """What the records domain offers workflow steps. `entity` is an entity id or its name
    within the project. Raise `LookupError` for an unknown entity or record and `ValueError`
    for values the entity's schema refuses; both fail the step with their message."""

    def create(self, scope: RecordScope, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record; returns it as the records API shows it."""
        ...

    def update(
        self, scope: RecordScope, entity: str, record_id: str, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change some fields of a record; returns it."""
        ...

    def query(
        self, scope: RecordScope, entity: str, where: Mapping[str, Any], limit: int
    ) -> list[dict[str, Any]]:
        """Records whose fields equal `where`'s values, newest first, at most `limit`."""
        ...


@dataclass(frozen=True)
class RecordChange:
    """A record mutation, as the records domain reports it after it committed."""

    org_id: str
    project_id: str
    entity_id: str
    entity_name: str
    event: str  # created | updated | deleted
    record_id: str
    fields: tuple[str, ...] = ()  # the fields that changed (every field on create/delete)
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    actor: Actor = field(default_factory=lambda: Actor("user"))


_port: list[RecordPort] = []
_listeners: list[Callable[[RecordChange], Any]] = []


def connect(port: RecordPort | None) -> None:
    """Install the records domain's adapter (None disconnects it, e.g. in tests)."""
    _port.clear()
    if port is not None:
        _port.append(port)


def port() -> RecordPort:
    """The connected adapter; a step fails cleanly when there is none."""
    if not _port:
        raise StepFailed(
            "records are not available in this server (no records domain is connected)",
            code="records_unavailable",
        )
    return _port[0]


def listen(listener: Callable[[RecordChange], Any]) -> None:
    """Call `listener(change)` after every record mutation (workflow triggers register here)."""
    if listener not in _listeners:
        _listeners.append(listener)


def changed(change: RecordChange) -> list[Any]:
    """What the records domain calls after a mutation commits; returns what listeners
    answered (for record-change triggers: the runs started)."""
    return [listener(change) for listener in list(_listeners)]
