"""HASP Studio: the authoring surface used by signed-in members of a HASP org.

Its org is the HASP org of the org core (`agentyard.hasp.orgs`, a core Tenant of key space
`agentyard.hasp.SURFACE`). What lives here: members and their passwords (`users`,
`passwords`), sign-in sessions and personal access tokens (`sessions`, `tokens`), the one
role rule every route goes through (`roles.require`), projects and their members (`projects`,
`project_members`, `invites`), and the project audit (`audit`).

Handlers read the caller as a `member.Member` and pass it to the domain; the domain never
sees the wire.
"""

SURFACE = "hasp-studio"  # the surface's name; its orgs are HASP orgs (`agentyard.hasp.SURFACE`)
