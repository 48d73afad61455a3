"""The project audit: every authoring change, appended to the org's hash-chained audit log
(the same chain `GET /v1/audit` of the HASP AI API lists) with the member, the project and the
state before and after."""

from __future__ import annotations

from typing import Any

from agentyard.core import audit as audit_log
from agentyard.core import request_context
from agentyard.core.keys import Tenant
from agentyard.hasp.studio.member import Member


def record(
    member: Member | None,
    action: str,
    entity_type: str,
    entity_id: str,
    *,
    org: Tenant | None = None,
    project_id: str | None = None,
    user_id: str | None = None,
    before: Any = None,
    after: Any = None,
    **extra: Any,
) -> None:
    """Append `action` on the entity by `member` (None: the operator, the system, or a user
    not signed in yet, named by `user_id`)."""
    info = request_context.current()
    tenant = org if org is not None else member.org if member is not None else None
    assert tenant is not None, "an audit entry needs its org"
    metadata: dict[str, Any] = {"before": before, "after": after, **extra}
    if member is not None:
        metadata["auth"] = {"method": member.auth, "id": member.auth_id}
    if info is not None:
        metadata["request_id"] = info.request_id
    audit_log.append(
        tenant,
        action,
        entity_type,
        entity_id,
        user_id=member.user_id if member else user_id,
        org_id=tenant.id,
        project_id=project_id,
        ip_address=info.client_ip if info else None,
        metadata=metadata,
    )
