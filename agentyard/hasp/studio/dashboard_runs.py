"""Run statistics of the dashboards, aggregated in SQL over Studio's run index (`StudioRun`)
joined with the flows engine's runs.

What counts: production runs (every trigger; a `call_workflow` child is a run of its own
workflow), never sandbox test runs (`POST /workflows/{id}/test`). A run belongs to the window
its start (`flows_run.created_at`) falls in. Finished = completed, failed, cancelled or
condition_not_met; the failure rate is failed / finished (None when nothing finished).
Durations run from start to finish, in milliseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import peewee
from peewee import Case, fn

from agentyard.core import clock
from agentyard.core import webhooks as deliveries
from agentyard.flows.models import FAILED, FINAL_STATUSES, Run, StepRecord
from agentyard.hasp.studio import dashboard_sql as q
from agentyard.hasp.studio.project_webhooks import PRODUCT as WEBHOOK_PRODUCT
from agentyard.hasp.studio.workflow_models import StudioRun, StudioWebhook, StudioWorkflow

FINISHED = tuple(sorted(FINAL_STATUSES))
WEEK = dt.timedelta(days=7)


@dataclass
class Counts:
    """Runs started in a window: how many, how many finished, how many failed."""

    runs: int = 0
    finished: int = 0
    failed: int = 0

    @property
    def failure_rate(self) -> float | None:
        return round(self.failed / self.finished, 4) if self.finished else None

    def view(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "finished": self.finished,
            "failed": self.failed,
            "failure_rate": self.failure_rate,
        }


def runs(
    org_id: str,
    projects: Iterable[str] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> peewee.ModelSelect[Any]:
    """The org's production runs (of `projects` when given) started in [since, until)."""
    query = (
        StudioRun.select()
        .join(Run, on=(Run.id == StudioRun.run_id))
        .where((StudioRun.tenant == org_id) & ~StudioRun.sandbox)
    )
    if projects is not None:
        query = query.where(StudioRun.project_id.in_(list(projects)))
    if since is not None:
        query = query.where(Run.created_at >= since)
    if until is not None:
        query = query.where(Run.created_at < until)
    return query


def _tally() -> tuple[peewee.Node, peewee.Node, peewee.Node]:
    return (
        fn.COUNT(Run.id),
        fn.SUM(Case(None, [(Run.status.in_(FINISHED), 1)], 0)),
        fn.SUM(Case(None, [(Run.status == FAILED, 1)], 0)),
    )


def counts(query: peewee.ModelSelect[Any]) -> Counts:
    """How many runs `query` holds, finished and failed."""
    row = q.tuples(query.select(*_tally()))[0]
    return Counts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def counts_by_project(query: peewee.ModelSelect[Any]) -> dict[str, Counts]:
    """`counts` per project id."""
    rows = q.tuples(query.select(StudioRun.project_id, *_tally()).group_by(StudioRun.project_id))
    return {p: Counts(int(n or 0), int(f or 0), int(x or 0)) for p, n, f, x in rows}


def since_week(now: dt.datetime | None = None) -> dt.datetime:
    return (now or clock.now()) - WEEK


def last_runs(org_id: str, projects: list[str], by: peewee.Field, finished: bool) -> dict:
    """The newest run per `by` (`StudioRun.project_id` or `StudioRun.workflow`) of the
    projects (only finished runs when `finished`): {key: {run_id, status, at, error}}."""
    if not projects:
        return {}
    query = runs(org_id, projects)
    if finished:
        query = query.where(Run.status.in_(FINISHED))
    rows = q.newest_per(
        query,
        by,
        [Run.created_at.desc(), Run.id.desc()],
        {"run_id": Run.id, "status": Run.status, "at": Run.created_at, "error": Run.error},
    )
    out = {}
    for row in rows:
        error = Run.error.python_value(row["error"])
        at = row["at"]
        out[row["key"]] = {
            "run_id": row["run_id"],
            "status": row["status"],
            "at": clock.iso(at if isinstance(at, dt.datetime) else Run.created_at.python_value(at)),
            "error": _error_view(error),
        }
    return out


def _error_view(error: Any) -> dict[str, Any] | None:
    if not isinstance(error, dict):
        return None
    return {"code": error.get("code"), "message": error.get("message"), "path": error.get("path")}


def duration_ms() -> peewee.Node:
    return q.millis_between(Run.created_at, Run.finished_at)


def durations(query: peewee.ModelSelect[Any]) -> dict[str, int | None]:
    """p50 and p95 (nearest rank) of the finished runs of `query`, in milliseconds."""
    done = query.where(Run.status.in_(FINISHED) & Run.finished_at.is_null(False))
    value = duration_ms()
    return {
        "finished": done.count(),
        "p50_ms": q.percentile(done, value, 50),
        "p95_ms": q.percentile(done, value, 95),
    }


def per_day(query: peewee.ModelSelect[Any], first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Runs started each UTC day from `first` to `last`, zero-filled."""
    day = q.day_of(Run.created_at)
    rows = q.tuples(query.select(day, *_tally()).group_by(day))
    found = {q.as_day(d): Counts(int(n or 0), int(f or 0), int(x or 0)) for d, n, f, x in rows}
    out = []
    for i in range((last - first).days + 1):
        date = first + dt.timedelta(days=i)
        c = found.get(date, Counts())
        out.append({"date": date.isoformat(), "runs": c.runs, "failed": c.failed})
    return out


def failure_reasons(query: peewee.ModelSelect[Any], limit: int = 50) -> list[dict[str, Any]]:
    """Failed runs grouped by their error's code and message, most frequent first."""
    code, message = q.json_text(Run.error, "code"), q.json_text(Run.error, "message")
    count = fn.COUNT(Run.id)
    rows = q.tuples(
        query.where(Run.status == FAILED)
        .select(code, message, count)
        .group_by(code, message)
        .order_by(count.desc(), code, message)
        .limit(limit)
    )
    return [{"code": c, "message": m, "count": int(n)} for c, m, n in rows]


def ai_tokens(query: peewee.ModelSelect[Any]) -> list[dict[str, Any]]:
    """Per workflow: the completed `ai_chat` steps of `query`'s runs and the input and output
    tokens of their `usage`, most tokens first."""
    tokens_in = fn.SUM(q.json_number(StepRecord.output, "usage", "input_tokens"))
    tokens_out = fn.SUM(q.json_number(StepRecord.output, "usage", "output_tokens"))
    calls = fn.COUNT(StepRecord.id)
    rows = q.tuples(
        query.join(StepRecord, on=(StepRecord.run == Run.id))
        .join(StudioWorkflow, on=(StudioWorkflow.id == StudioRun.workflow))
        .where((StepRecord.type == "ai_chat") & (StepRecord.status == "completed"))
        .select(
            StudioRun.workflow,
            StudioWorkflow.name,
            StudioWorkflow.slug,
            calls,
            tokens_in,
            tokens_out,
        )  # fmt: skip
        .group_by(StudioRun.workflow, StudioWorkflow.name, StudioWorkflow.slug)
    )
    out = [
        {
            "workflow_id": wf,
            "name": name,
            "slug": slug,
            "ai_calls": int(n or 0),
            "input_tokens": int(i or 0),
            "output_tokens": int(o or 0),
        }
        for wf, name, slug, n, i, o in rows
    ]
    out.sort(key=lambda r: (-(r["input_tokens"] + r["output_tokens"]), r["workflow_id"]))
    return out


def webhook_failures(org_id: str, projects: list[str], since: dt.datetime) -> dict[str, dict]:
    """Per project: outbound webhook deliveries (core.webhooks rows of the project's webhooks)
    created since `since` that failed (every attempt spent, or the endpoint gone), succeeded,
    and are still pending."""
    if not projects:
        return {}
    status = deliveries.Delivery.status
    rows = q.tuples(
        deliveries.Delivery.select(
            StudioWebhook.project_id,
            fn.SUM(Case(None, [(status == deliveries.FAILED, 1)], 0)),
            fn.SUM(Case(None, [(status == deliveries.SUCCEEDED, 1)], 0)),
            fn.SUM(Case(None, [(status == deliveries.PENDING, 1)], 0)),
        )
        .join(StudioWebhook, on=(StudioWebhook.id == deliveries.Delivery.endpoint_ref))
        .where(
            (deliveries.Delivery.tenant == org_id)
            & (deliveries.Delivery.product == WEBHOOK_PRODUCT)
            & (deliveries.Delivery.created_at >= since)
            & StudioWebhook.project.in_(projects)
        )
        .group_by(StudioWebhook.project_id)
    )
    return {
        p: {"failed": int(f or 0), "succeeded": int(s or 0), "pending": int(n or 0)}
        for p, f, s, n in rows
    }
