"""Workflows of a project: create (validated and compiled on save) and list.

A definition that breaks the format → 400 `INVALID_WORKFLOW` whose `details` name the
`step_index` (top-level step, or null) and the JSON-pointer `path` of the offending value.
A `call_workflow` step must name a workflow of the same project (id or slug). Schedule
triggers get their first fire time on save (`schedules.next_fire`).
"""

from __future__ import annotations

from typing import Any

import peewee

from agentyard.core import clock, ids, paging
from agentyard.core.errors import ApiError
from agentyard.core.store import write
from agentyard.hasp import cursors
from agentyard.hasp.studio import audit, discovery, projects, roles, schedules, workflow_format
from agentyard.hasp.studio.errors import conflict
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.workflow_models import StudioWorkflow


def view(wf: StudioWorkflow) -> dict[str, Any]:
    return {
        "id": wf.id,
        "project_id": wf.project_id,
        "name": wf.name,
        "slug": wf.slug,
        "description": wf.description,
        "definition": wf.definition,
        "trigger_type": wf.trigger_type,
        "agent_callable": bool(wf.agent_callable),
        "next_fire_at": clock.iso(wf.next_fire_at),
        "created_at": clock.iso(wf.created_at),
        "updated_at": clock.iso(wf.updated_at),
    }


def invalid_definition(error: workflow_format.FormatError) -> ApiError:
    where = f"step {error.step_index}, " if error.step_index is not None else ""
    return ApiError(
        400,
        "INVALID_WORKFLOW",
        f"definition{error.path}: {error.message} ({where}path {error.path})",
        details={"param": "definition", "step_index": error.step_index, "path": error.path},
    )


def check(project: Project, definition: dict[str, Any]) -> workflow_format.Checked:
    """Validate and compile, including the project's workflows the definition calls."""
    try:
        checked = workflow_format.check(definition)
    except workflow_format.FormatError as exc:
        raise invalid_definition(exc) from None
    for ref, path in checked.calls:
        found = StudioWorkflow.select().where(
            (StudioWorkflow.project == project)
            & ((StudioWorkflow.id == ref) | (StudioWorkflow.slug == ref))
        )
        if not found.exists():
            step = int(path.split("/")[2])
            raise invalid_definition(
                workflow_format.FormatError(f"no workflow {ref!r} in this project", path, step)
            )
    return checked


def create(
    member: Member,
    project_id: str,
    name: str,
    slug: str | None,
    description: str,
    definition: dict[str, Any],
    agent_callable: bool | None,
) -> StudioWorkflow:
    """A new workflow (project builder; not archived); a taken slug → 409."""
    project, _ = roles.find_project(member, project_id, "builder")
    projects.writable(project)
    checked = check(project, definition)
    chosen = slug or projects.slug_of(name)
    now = clock.now()
    trigger = checked.trigger
    stored = {**definition, "trigger": trigger}
    try:
        with write():
            if (
                StudioWorkflow.select()
                .where((StudioWorkflow.project == project) & (StudioWorkflow.slug == chosen))
                .exists()
            ):
                raise conflict(f"The workflow slug {chosen!r} is taken in this project")
            wf = StudioWorkflow.create(
                id=ids.new_id("wf"),
                tenant=member.org_id,
                project=project,
                name=name.strip(),
                slug=chosen,
                description=description,
                definition=stored,
                compiled=checked.compiled,
                trigger_type=trigger["type"],
                agent_callable=(
                    trigger["type"] == "agent" if agent_callable is None else agent_callable
                ),
                next_fire_at=(
                    schedules.next_fire(trigger, now) if trigger["type"] == "schedule" else None
                ),
                created_by=member.user_id,
                created_at=now,
                updated_at=now,
            )
            audit.record(
                member, "workflow.created", "workflow", wf.id, project_id=project.id,
                after=view(wf),
            )  # fmt: skip
    except peewee.IntegrityError as exc:
        raise conflict(f"The workflow slug {chosen!r} is taken in this project") from exc
    return wf


def list_page(
    member: Member, project_id: str, cursor: str | None, limit: int
) -> tuple[list[StudioWorkflow], str | None, bool]:
    """The project's workflows, newest first (project viewer)."""
    project, _ = roles.find_project(member, project_id, "viewer")
    query = StudioWorkflow.select().where(StudioWorkflow.project == project)
    rows, after, more = paging.newest_first(
        query, StudioWorkflow.created_at, StudioWorkflow.id, cursors.rows_to_core(cursor), limit
    )
    return rows, cursors.rows_from_core(after), more


def gallery(
    project_ids: list[str], cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, bool]:
    """The discovery gallery: a page of the workflows of these projects, newest first."""
    query = StudioWorkflow.select().where(StudioWorkflow.project.in_(project_ids))
    rows, after, more = paging.newest_first(
        query, StudioWorkflow.created_at, StudioWorkflow.id, cursors.rows_to_core(cursor), limit
    )
    return [view(r) for r in rows], cursors.rows_from_core(after), more


discovery.register("workflows", gallery)
