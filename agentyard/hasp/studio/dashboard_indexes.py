"""The index the project dashboards read the audit log by (its project's entries, newest
first), in its own migration component `hasp-studio-dashboards`. The dashboards add no table."""

from __future__ import annotations

import peewee

from agentyard.core.audit import AuditEntry
from agentyard.core.migrations import Migration, register

AUDIT_BY_PROJECT = AuditEntry.index(
    AuditEntry.tenant,
    AuditEntry.project_id,
    AuditEntry.created_at,
    AuditEntry.seq,
    name="core_audit_entry_tenant_project_created",
)


def _create_indexes(database: peewee.Database) -> None:
    database.execute(AUDIT_BY_PROJECT.safe(True))


register("hasp-studio-dashboards", [Migration(1, "audit by project", _create_indexes)])
