"""HASP Studio: the authoring surface used by signed-in members of a HASP org.

Its org is the HASP org of the org core (`agentyard.hasp.orgs`, a core Tenant of key space
`agentyard.hasp.SURFACE`). What lives here: members and their passwords (`users`,
`passwords`), sign-in sessions and personal access tokens (`sessions`, `tokens`), the one
role rule every route goes through (`roles.require`), projects and their members (`projects`,
`project_members`, `invites`), and the project audit (`audit`).

Handlers read the caller as a `member.Member` and pass it to the domain; the domain never
sees the wire.

Writing another Studio route (apps, entities, webhooks, policies, ...):

- handler (`handlers/hasp_studio/<resource>.py`): `member = current_member()` (from
  `handlers.hasp_studio.security`), validate the body with its generated model, call the
  domain, answer `agentyard.hasp.envelope.ok(...)` / `.page(...)`;
- domain, project-scoped: `project, role = roles.find_project(member, project_id, "builder")`
  (404 for a project the member cannot see, 403 below the least role), then
  `projects.writable(project)` before any write (409 PROJECT_ARCHIVED; 423 PROJECT_LOCKED
  while a release is open — writes of data, not authoring, pass `authoring=False`);
  org-scoped: `roles.require(member, "admin")`, and 404 unless the path's `org_id` is
  `member.org_id`;
- an object reached by its own id (`/entities/{id}`, `/webhooks/{id}`): load it within
  `member.org_id`, then `roles.require(member, least, project=<its project>)`;
- every change: `audit.record(member, "<thing>.<verb>", "<thing>", id, project_id=...,
  before=..., after=...)` inside the same `write()` transaction;
- state the least role in the operation's description in specs/hasp-studio.yaml.
"""

SURFACE = "hasp-studio"  # the surface's name; its orgs are HASP orgs (`agentyard.hasp.SURFACE`)
