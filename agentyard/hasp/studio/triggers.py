"""Record-change triggers: after a record mutation (reported through `record_port.changed`),
start a run of each workflow of that project whose `record_change` trigger matches the entity
(its id or name), the event, and the field (`*`: any). The run's input is
`{event, entity_id, entity, record_id, fields, before, record, actor}`.

A change made by a workflow's own run does not trigger that same workflow again (no
self-loop); chains through other workflows stop at `workflow_runs.MAX_CALL_DEPTH` levels.
"""

from __future__ import annotations

import logging
from typing import Any

from agentyard.hasp.studio import record_port
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.run_service import start_triggered
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWorkflow
from agentyard.hasp.studio.workflow_runs import MAX_CALL_DEPTH

log = logging.getLogger("agentyard.hasp.studio")


def _matches(trigger: dict[str, Any], change: record_port.RecordChange) -> bool:
    if trigger.get("entity") not in (change.entity_id, change.entity_name):
        return False
    if change.event not in (trigger.get("events") or ()):
        return False
    field = trigger.get("field") or "*"
    return field == "*" or field in change.fields


def on_record_change(change: record_port.RecordChange) -> list[str]:
    """Start the matching workflows' runs; returns their ids."""
    source: StudioRun | None = None
    if change.actor.type == "workflow" and change.actor.id:
        source = StudioRun.get_or_none(StudioRun.run_id == change.actor.id)
    depth = 0
    if source is not None:
        depth = int((source.trigger or {}).get("depth") or 0) + 1
        if depth > MAX_CALL_DEPTH:
            return []
    candidates = (
        StudioWorkflow.select()
        .join(Project)
        .where(
            (StudioWorkflow.tenant == change.org_id)
            & (StudioWorkflow.project == change.project_id)
            & (StudioWorkflow.trigger_type == "record_change")
            & Project.archived_at.is_null()
        )
    )
    started = []
    for wf in candidates:
        trigger = wf.definition.get("trigger") or {}
        if not _matches(trigger, change):
            continue
        if source is not None and source.workflow_id == wf.id:
            continue
        data = {
            "event": change.event,
            "entity_id": change.entity_id,
            "entity": change.entity_name,
            "record_id": change.record_id,
            "fields": list(change.fields),
            "before": dict(change.before) if change.before is not None else None,
            "record": dict(change.after) if change.after is not None else None,
            "actor": {"type": change.actor.type, "id": change.actor.id},
        }
        info = {
            "type": "record_change", "event": change.event, "entity_id": change.entity_id,
            "record_id": change.record_id, "actor": data["actor"], "depth": depth,
        }  # fmt: skip
        try:
            started.append(start_triggered(wf, data, info).id)
        except Exception:
            log.exception("studio: the record-change run of %s failed to start", wf.id)
    return started


record_port.listen(on_record_change)
