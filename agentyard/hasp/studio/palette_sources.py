"""What the palette searches and runs from the org-level modules: projects, integrations,
agentic patterns, and the commands `project.create`, `integration.test` (run through their
routes' domain functions) plus `record.create`, `workflow.run` and `release.request`, declared
here and provided by the records, workflows and releases modules (`palette.provide`) — until
then they answer 409 COMMAND_UNAVAILABLE."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from agentyard.hasp.studio import (
    discovery,
    integration_checks,
    integrations,
    palette,
    patterns,
    projects,
)
from agentyard.hasp.studio.errors import invalid
from agentyard.hasp.studio.member import Member
from agentyard.hasp.studio.models import Project
from agentyard.hasp.studio.palette import Candidate, Command

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _projects(member: Member) -> Iterable[Candidate]:
    visible = discovery.visible_project_ids(member)  # one query, not a role lookup per row
    for project in Project.select().where(Project.id.in_(visible)) if visible else ():
        yield Candidate(
            "project", project.id, project.name, f"Project · {project.slug}",
            words=f"{project.slug} {project.description}", project_id=project.id,
        )  # fmt: skip


def _integrations(member: Member) -> Iterable[Candidate]:
    for row in integrations.search_rows(member):
        yield Candidate(
            "integration", row.id, row.name, f"Integration · {row.kind}", words=row.kind
        )


def _patterns(member: Member) -> Iterable[Candidate]:
    for p in patterns.catalogue():
        yield Candidate(
            "pattern", p["id"], p["name"], "Agentic pattern",
            words=f"{p['description']} {' '.join(p['primitives'])}",
        )  # fmt: skip


def _text_arg(args: dict[str, Any], name: str, limit: int, required: bool = True) -> str | None:
    value = args.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise invalid(f"args.{name} must be a non-blank string of at most {limit} characters",
                      f"args.{name}")  # fmt: skip
    return value


def _create_project(member: Member, args: dict[str, Any]) -> dict[str, Any]:
    extra = sorted(set(args) - {"name", "slug", "description"})
    if extra:
        raise invalid(f"Unknown args {', '.join(extra)} for project.create", "args")
    name = str(_text_arg(args, "name", 200))
    slug = _text_arg(args, "slug", 63, required=False)
    if slug is not None and not _SLUG.match(slug):
        raise invalid("args.slug: lower-case letters, digits and dashes", "args.slug")
    description = _text_arg(args, "description", 2000, required=False) or ""
    project = projects.create(member, name, slug, description)
    return projects.view(project, "owner")


def _test_integration(member: Member, args: dict[str, Any]) -> dict[str, Any]:
    integration_id = _text_arg(args, "integration_id", 40)
    return integration_checks.run(member, str(integration_id))


palette.add_source("project", _projects)
palette.add_source("integration", _integrations)
palette.add_source("pattern", _patterns)

palette.add_command(Command(
    "project.create", "Create project", "Create a project in this organization",
    least_role="builder", args={"name": "required", "slug": "optional", "description": "optional"},
    run=_create_project,
))  # fmt: skip
palette.add_command(Command(
    "integration.test", "Test integration", "Connect to an integration and report latency",
    least_role="builder", args={"integration_id": "required"}, run=_test_integration,
))  # fmt: skip
palette.add_command(Command(
    "record.create", "Create record", "Create a record in an entity of a project",
    least_role="builder", scope="project",
    args={"entity_id": "required", "values": "required"},
))  # fmt: skip
palette.add_command(Command(
    "workflow.run", "Start workflow run", "Start a run of a workflow",
    least_role="builder", scope="project", args={"workflow_id": "required", "input": "optional"},
))  # fmt: skip
palette.add_command(Command(
    "release.request", "Open release request", "Ask for a release of a whole project",
    least_role="builder", scope="project",
    args={"project_id": "required", "title": "optional", "notes": "optional"},
))  # fmt: skip
