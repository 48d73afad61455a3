"""HASP's org runtime (`hasp-runtime`): what an org's published, agent-callable workflows look
like from outside, served per org (`/hasp-runtime/{org}/...`, or `{org}.<domain>` alone).

- `place`: which org a request is for (core.tenant_mount's name → the HASP org, or 404);
- `discovery`: the public manifest `/.well-known/agents.json` and the A2A Agent Cards;
- `rpc`: JSON-RPC 2.0 at `/a2a/{project_slug}/{workflow_slug}`: HASP's `invoke` and the A2A
  methods (v0.3 names and v1.0 aliases), over `tasks` (a run of the published workflow is the
  A2A task) and `a2a_wire` (the v0.3 / v1.0 shapes);
- `errors`: the JSON-RPC error codes and the surface's error shape (a JSON-RPC error object).

Callers present an org API key (the hasp-ai keys) holding `workflow:invoke`.
"""

SURFACE = "hasp-runtime"
