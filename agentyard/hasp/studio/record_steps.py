"""The records domain behind the workflows' record steps (`record_port.RecordPort`), connected
at import.

A step acts in the project of its workflow, as the run (`Actor("workflow", run_id)`): `entity`
is an entity id or key of that project (another project's or org's → `LookupError`, as an
unknown one); the writes go through the same validation as the records API (refusals →
`ValueError` with its message) and are audited, announced to the entity's app webhooks,
emitted to the project's outbound webhooks and reported to the record-change triggers, which
do not start the acting run's own workflow again (see `triggers`). A retried create (same
`scope.idempotency_key`) answers the record its first attempt created (`record_keys`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from agentyard.core.errors import ApiError
from agentyard.core.keys import Tenant
from agentyard.hasp.studio import record_port, records
from agentyard.hasp.studio.entity_models import StudioEntity

T = TypeVar("T")


def _entity(scope: record_port.RecordScope, ref: str) -> StudioEntity:
    entity = StudioEntity.get_or_none(
        (StudioEntity.tenant == scope.org_id)
        & (StudioEntity.project == scope.project_id)
        & ((StudioEntity.id == ref) | (StudioEntity.key == ref))
    )
    if entity is None:
        raise LookupError(f"no entity {ref!r} in this workflow's project")
    return entity


def _author(scope: record_port.RecordScope) -> records.Author:
    return records.Author(Tenant.get_by_id(scope.org_id), scope.actor)


def _domain(call: Callable[[], T]) -> T:
    """The records domain's refusals as the port's exceptions (404 → LookupError, any other
    4xx → ValueError), with the API's message."""
    try:
        return call()
    except ApiError as exc:
        if exc.status == 404:
            raise LookupError(exc.message) from None
        raise ValueError(exc.message) from None


class RecordSteps:
    """`record_port.RecordPort` over `records`."""

    def create(
        self, scope: record_port.RecordScope, entity: str, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        target = _entity(scope, entity)
        row, ent, fields = _domain(
            lambda: records.create_as(_author(scope), target, values, scope.idempotency_key)
        )
        return records.view(row, ent, fields)

    def update(
        self,
        scope: record_port.RecordScope,
        entity: str,
        record_id: str,
        values: Mapping[str, Any],
    ) -> dict[str, Any]:
        target = _entity(scope, entity)
        row, ent, fields = _domain(
            lambda: records.update_as(_author(scope), target, record_id, values)
        )
        return records.view(row, ent, fields)

    def query(
        self,
        scope: record_port.RecordScope,
        entity: str,
        where: Mapping[str, Any],
        limit: int,
    ) -> list[dict[str, Any]]:
        target = _entity(scope, entity)
        return _domain(lambda: records.matching(target, where, max(1, min(limit, 100))))


ADAPTER = RecordSteps()
record_port.connect(ADAPTER)
