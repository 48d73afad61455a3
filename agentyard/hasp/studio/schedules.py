"""Schedule triggers: a cron expression (5 fields, in the trigger's IANA time zone) whose fire
times start runs. Each workflow stores its next fire time; a periodic job (every minute, on
every consumer) fires the due ones. A fire is claimed by a conditional update of that time, so
two consumers never fire it twice. After downtime a workflow fires once for its missed times,
then continues from now. Workflows of archived projects do not fire.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Mapping
from typing import Any

from croniter import croniter

from agentyard.core import clock, jobs
from agentyard.core.store import write
from agentyard.hasp.studio.models import Project

log = logging.getLogger("agentyard.hasp.studio")


def next_fire(trigger: Mapping[str, Any], after: dt.datetime) -> dt.datetime:
    """The first fire time strictly after `after` (naive UTC, like every stored time)."""
    tz = zoneinfo.ZoneInfo(str(trigger.get("timezone") or "UTC"))
    local = after.replace(tzinfo=dt.UTC).astimezone(tz)
    nxt = croniter(str(trigger["cron"]), local).get_next(dt.datetime)
    return nxt.astimezone(dt.UTC).replace(tzinfo=None)


def fire_due(now: dt.datetime | None = None) -> list[str]:
    """Start a run of every schedule-triggered workflow that is due; the run ids started."""
    from agentyard.hasp.studio.run_service import start_triggered
    from agentyard.hasp.studio.workflow_models import StudioWorkflow

    now = now or clock.now()
    due = list(
        StudioWorkflow.select()
        .join(Project)
        .where(
            (StudioWorkflow.trigger_type == "schedule")
            & (StudioWorkflow.next_fire_at <= now)
            & Project.archived_at.is_null()
        )
        .order_by(StudioWorkflow.next_fire_at)
        .limit(500)
    )
    started = []
    for wf in due:
        trigger = wf.definition.get("trigger") or {}
        scheduled_for = wf.next_fire_at
        with write():
            claimed = (
                StudioWorkflow.update(next_fire_at=next_fire(trigger, now))
                .where(
                    (StudioWorkflow.id == wf.id) & (StudioWorkflow.next_fire_at == scheduled_for)
                )
                .execute()
            )
        if not claimed:
            continue
        try:
            run = start_triggered(
                wf,
                dict(trigger.get("input") or {}),
                {"type": "schedule", "cron": trigger.get("cron"),
                 "scheduled_for": clock.iso(scheduled_for)},
            )  # fmt: skip
            started.append(run.id)
        except Exception:
            log.exception("studio: the scheduled run of %s failed to start", wf.id)
    return started


@jobs.periodic_task(jobs.crontab(minute="*"), name="hasp_studio.schedules")
def schedules_job() -> None:
    """Every minute: fire the due schedule triggers."""
    fire_due()
